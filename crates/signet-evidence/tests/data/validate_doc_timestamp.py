"""Validates the last document time-stamp of a PDF with pyHanko's API (its CLI lists only
signatures): prints pyHanko's summary and exits non-zero unless it is intact, valid, trusted
against the given root and covers the whole file.

usage: python validate_doc_timestamp.py ROOT.pem FILE.pdf
"""

import sys

from asn1crypto import pem, x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_timestamp
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext


def main() -> int:
    with open(sys.argv[1], "rb") as f:
        _, _, der = pem.unarmor(f.read())
    root = x509.Certificate.load(der)
    with open(sys.argv[2], "rb") as f:
        reader = PdfFileReader(f)
        stamps = list(reader.embedded_timestamp_signatures)
        if not stamps:
            print("no document time-stamp")
            return 1
        context = ValidationContext(trust_roots=[root], allow_fetching=True)
        status = validate_pdf_timestamp(stamps[-1], validation_context=context)
        whole = status.coverage == SignatureCoverageLevel.ENTIRE_FILE
        print(f"{stamps[-1].field_name}:{status.summary()}:whole_file={whole}")
        return 0 if status.intact and status.valid and status.trusted and whole else 1


if __name__ == "__main__":
    sys.exit(main())
