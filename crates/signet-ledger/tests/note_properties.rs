//! Property tests for the checkpoint and signed-note parsers, which read untrusted text.

use proptest::prelude::*;
use signet_ledger::{Checkpoint, NoteSigner, NoteVerifier};

fn signer() -> NoteSigner {
    NoteSigner::from_seed("signet.example/ledger", [9; 32]).expect("valid name")
}

fn line() -> impl Strategy<Value = String> {
    // Printable text, including non-ASCII, never empty.
    "[a-zA-Z0-9 ./:+=\u{e9}\u{2014}-]{1,40}"
}

fn checkpoint() -> impl Strategy<Value = Checkpoint> {
    (
        line(),
        any::<u64>(),
        any::<[u8; 32]>(),
        proptest::collection::vec(line(), 0..4),
    )
        .prop_map(|(origin, size, root_hash, extensions)| Checkpoint {
            origin,
            size,
            root_hash,
            extensions,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn checkpoints_round_trip_through_signed_notes(checkpoint in checkpoint()) {
        prop_assert_eq!(Checkpoint::parse(&checkpoint.to_body()), Ok(checkpoint.clone()));
        let signer = signer();
        let note = signer.sign_checkpoint(&checkpoint).expect("valid checkpoint");
        let verifier = NoteVerifier::from_verifier_key_string(&signer.verifier_key_string())
            .expect("own key parses");
        prop_assert_eq!(verifier.open(&note), Ok(checkpoint));
    }

    /// Changing, inserting or deleting any one character of a signed checkpoint makes it fail to
    /// open, or opens to the very same checkpoint (never to a different one), and never panics.
    #[test]
    fn edited_notes_never_open_to_something_else(
        checkpoint in checkpoint(),
        position in any::<prop::sample::Index>(),
        edit in 0u8..3,
        replacement in any::<char>(),
    ) {
        let signer = signer();
        let note = signer.sign_checkpoint(&checkpoint).expect("valid checkpoint");
        let mut chars: Vec<char> = note.chars().collect();
        let at = position.index(chars.len());
        match edit {
            0 => chars[at] = replacement,
            1 => chars.insert(at, replacement),
            _ => { chars.remove(at); }
        }
        let edited: String = chars.into_iter().collect();
        if let Ok(opened) = signer.verifier().open(&edited) {
            prop_assert_eq!(opened, checkpoint);
        }
    }

    #[test]
    fn arbitrary_text_never_panics(text in "(?s).{0,300}") {
        let _ = Checkpoint::parse(&text);
        let _ = signer().verifier().open(&text);
        let _ = NoteVerifier::from_verifier_key_string(&text);
        let _ = NoteSigner::from_signer_key_string(&text);
    }
}
