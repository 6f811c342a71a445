//! Signed-note and checkpoint tests against published examples.
//!
//! Sources:
//! - golang.org/x/mod `sumdb/note/note_test.go`: the PeterNeumann and EnochRoot keys, the signed
//!   "If you think cryptography…" note, its malformed variants and the key-mangling checks.
//! - C2SP `signed-note` §Verifier keys: the `example.com/foo` Ed25519 key and its key ID 530d903a.
//! - C2SP `tlog-checkpoint` / `tlog-witness` examples: the `example.com/behind-the-sofa` checkpoint
//!   and its two signature lines (whose keys are not published, so they are "unknown keys").

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use signet_ledger::{Checkpoint, MemoryLog, NoteError, NoteSigner, NoteVerifier};

const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const PETER_SKEY: &str =
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const ENOCH_VKEY: &str = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
const TEXT: &str = "If you think cryptography is the answer to your problem,\n\
                    then you don't know what your problem is.\n";
const PETER_SIG: &str = "\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
const ENOCH_SIG: &str = "\u{2014} EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

const SOFA_BODY: &str =
    "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
const SOFA_SIGS: &str = "\u{2014} example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n\
                         \u{2014} example.com/behind-the-sofa opLqBQsREYCgu6xQkYQwJr9fo45a62DN9EdmHXnZdXNqlcVGlCum2Wks+49/V6267UEjw6QUXTS5Rovnzv++qbSzm9Q=\n";

fn peter() -> NoteVerifier {
    NoteVerifier::from_verifier_key_string(PETER_VKEY).expect("published key parses")
}

#[test]
fn go_keys_parse_and_round_trip() {
    let verifier = peter();
    assert_eq!(verifier.name(), "PeterNeumann");
    assert_eq!(verifier.key_id(), 0xc74f20a3);
    assert_eq!(verifier.verifier_key_string(), PETER_VKEY);

    let signer = NoteSigner::from_signer_key_string(PETER_SKEY).expect("published key parses");
    assert_eq!(signer.key_id(), 0xc74f20a3);
    assert_eq!(signer.signer_key_string(), PETER_SKEY);
    assert_eq!(signer.verifier_key_string(), PETER_VKEY);
    assert!(
        !format!("{signer:?}").contains("AYEKF"),
        "Debug leaks the seed"
    );

    let enoch = NoteVerifier::from_verifier_key_string(ENOCH_VKEY).expect("parses");
    assert_eq!(enoch.key_id(), 0xaf0cfe78);
}

#[test]
fn go_signature_is_reproduced_byte_for_byte() {
    let signer = NoteSigner::from_signer_key_string(PETER_SKEY).expect("parses");
    let note = signer.sign_note(TEXT).expect("valid text");
    assert_eq!(note, format!("{TEXT}\n{PETER_SIG}"));
}

#[test]
fn go_notes_open() {
    let enoch = NoteVerifier::from_verifier_key_string(ENOCH_VKEY).expect("parses");
    let both = format!("{TEXT}\n{PETER_SIG}{ENOCH_SIG}");
    assert_eq!(peter().open_text(&both), Ok(TEXT));
    assert_eq!(enoch.open_text(&both), Ok(TEXT));
    // Repeated signatures are fine.
    let repeated = format!("{TEXT}\n{PETER_SIG}{PETER_SIG}{ENOCH_SIG}");
    assert_eq!(peter().open_text(&repeated), Ok(TEXT));
    // A note signed only by someone else is refused.
    assert_eq!(
        enoch.open_text(&format!("{TEXT}\n{PETER_SIG}")),
        Err(NoteError::UnknownKey("EnochRoot+af0cfe78".into()))
    );
    // Go's "wrong hash" case: a changed key ID makes the line someone else's.
    let wrong_id = PETER_SIG.replace("x08g", "xxxx");
    assert!(matches!(
        peter().open_text(&format!("{TEXT}\n{wrong_id}")),
        Err(NoteError::UnknownKey(_))
    ));
}

#[test]
fn go_bad_signatures_are_refused() {
    let corrupted = format!("{}ABCD{}", &PETER_SIG[..60], &PETER_SIG[60..]);
    assert_eq!(
        peter().open_text(&format!("{TEXT}\n{corrupted}")),
        Err(NoteError::InvalidSignature("PeterNeumann+c74f20a3".into()))
    );
    // A good signature over a different text.
    let other_text = TEXT.replace("problem", "answer");
    assert!(matches!(
        peter().open_text(&format!("{other_text}\n{PETER_SIG}")),
        Err(NoteError::InvalidSignature(_))
    ));
}

#[test]
fn go_malformed_notes_are_refused() {
    let bad = [
        TEXT.to_owned(),
        format!("{TEXT}\n"),
        format!("{TEXT}\n{}", &PETER_SIG[..PETER_SIG.len() - 1]),
        format!("\u{1}{TEXT}\n{PETER_SIG}"),
        format!(
            "{TEXT}\n\u{2014} Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM="
        ),
        format!("{TEXT}\n{PETER_SIG}Unexpected line.\n"),
        format!("{TEXT}\n{}", PETER_SIG.repeat(101)),
        format!("{TEXT}\n{PETER_SIG}\n"),
        format!(
            "{TEXT}\n- PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
        ),
    ];
    for note in bad {
        assert_eq!(
            peter().open_text(&note),
            Err(NoteError::MalformedNote),
            "{note:?}"
        );
    }
    // 100 signature lines are still allowed.
    assert_eq!(
        peter().open_text(&format!("{TEXT}\n{}", PETER_SIG.repeat(100))),
        Ok(TEXT)
    );
}

/// Go's `TestNewVerifier` / `TestNewSigner`: every proper substring and every single-byte
/// increment of a key string must be refused.
#[test]
fn go_mangled_keys_are_refused() {
    for (key, parse) in [
        (
            PETER_VKEY,
            (|k: &str| NoteVerifier::from_verifier_key_string(k).is_ok()) as fn(&str) -> bool,
        ),
        (PETER_SKEY, |k: &str| {
            NoteSigner::from_signer_key_string(k).is_ok()
        }),
    ] {
        assert!(parse(key));
        let bytes = key.as_bytes();
        for i in 0..=bytes.len() {
            for j in i + 1..=bytes.len() {
                if (i, j) != (0, bytes.len()) {
                    let sub = std::str::from_utf8(&bytes[i..j]).expect("ASCII");
                    assert!(!parse(sub), "{sub:?}");
                }
            }
        }
        for i in 0..bytes.len() {
            let mut mangled = bytes.to_vec();
            mangled[i] += 1;
            let mangled = String::from_utf8(mangled).expect("ASCII");
            assert!(!parse(&mangled), "{mangled:?}");
        }
    }
    // Wrong key length and unknown algorithm, each with a matching key ID.
    for bad in [
        "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",
        "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
    ] {
        assert_eq!(
            NoteVerifier::from_verifier_key_string(bad),
            Err(NoteError::MalformedKey)
        );
    }
}

#[test]
fn c2sp_verifier_key_example_has_the_published_key_id() {
    let public_key =
        hex::decode("e932791ae6e7a840a46164c904786426d5e7821dd8b29a00d61cae72afdd4da4")
            .expect("hex");
    let mut encoded = vec![0x01];
    encoded.extend_from_slice(&public_key);
    let vkey = format!("example.com/foo+530d903a+{}", BASE64.encode(&encoded));
    let verifier = NoteVerifier::from_verifier_key_string(&vkey).expect("published key parses");
    assert_eq!(verifier.key_id(), 0x530d903a);
    assert_eq!(verifier.verifier_key_string(), vkey);
}

#[test]
fn c2sp_checkpoint_example_parses_and_round_trips() {
    let checkpoint = Checkpoint::parse(SOFA_BODY).expect("published checkpoint parses");
    assert_eq!(checkpoint.origin, "example.com/behind-the-sofa");
    assert_eq!(checkpoint.size, 20852163);
    assert_eq!(
        BASE64.encode(checkpoint.root_hash),
        "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I="
    );
    assert!(checkpoint.extensions.is_empty());
    assert_eq!(checkpoint.to_body(), SOFA_BODY);

    // The published note is well formed, but signed by keys we do not hold.
    let note = format!("{SOFA_BODY}\n{SOFA_SIGS}");
    let ours = NoteSigner::from_seed("example.com/behind-the-sofa", [7; 32]).expect("valid");
    assert!(matches!(
        ours.verifier().open(&note),
        Err(NoteError::UnknownKey(_))
    ));
    // Our signature added beside theirs verifies; theirs are ignored.
    let signed = ours.sign_checkpoint(&checkpoint).expect("valid checkpoint");
    let cosigned = format!("{signed}{SOFA_SIGS}");
    assert_eq!(ours.verifier().open(&cosigned), Ok(checkpoint));
}

#[test]
fn checkpoints_sign_and_open() {
    let mut log = MemoryLog::new();
    for i in 0..1000u32 {
        log.append(&i.to_be_bytes());
    }
    let signer = NoteSigner::generate("signet.example/ledger").expect("randomness");
    let again = NoteSigner::from_signer_key_string(&signer.signer_key_string()).expect("parses");
    assert_eq!(again.verifier_key_string(), signer.verifier_key_string());
    let verifier =
        NoteVerifier::from_verifier_key_string(&signer.verifier_key_string()).expect("parses");

    let mut checkpoint = Checkpoint::new("signet.example/ledger", log.size(), log.root());
    checkpoint.extensions.push("timestamp 1700000000".into());
    let note = signer.sign_checkpoint(&checkpoint).expect("valid");
    assert!(note.starts_with(&checkpoint.to_body()));
    assert_eq!(verifier.open(&note), Ok(checkpoint.clone()));

    // Tampering with the size or root breaks the signature.
    let tampered = note.replacen("\n1000\n", "\n1001\n", 1);
    assert!(matches!(
        verifier.open(&tampered),
        Err(NoteError::InvalidSignature(_))
    ));
    // Trailing garbage and a missing newline are refused.
    assert_eq!(
        verifier.open(&format!("{note}garbage\n")),
        Err(NoteError::MalformedNote)
    );
    assert_eq!(
        verifier.open(note.trim_end()),
        Err(NoteError::MalformedNote)
    );
    // Another key's verifier does not accept it.
    let stranger = NoteSigner::generate("signet.example/ledger").expect("randomness");
    assert!(matches!(
        stranger.verifier().open(&note),
        Err(NoteError::UnknownKey(_))
    ));
    // A valid signed note that is not a checkpoint.
    let not_checkpoint = signer.sign_note("hello\nworld\n").expect("valid text");
    assert!(matches!(
        verifier.open(&not_checkpoint),
        Err(NoteError::MalformedCheckpoint(_))
    ));
}

#[test]
fn malformed_checkpoints_are_refused() {
    let root = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=";
    for body in [
        String::new(),
        format!("origin\n5\n{root}"),
        "origin\n5\n".into(),
        format!("\n5\n{root}\n"),
        format!("origin\n05\n{root}\n"),
        format!("origin\n+5\n{root}\n"),
        format!("origin\n-5\n{root}\n"),
        format!("origin\n5 \n{root}\n"),
        format!("origin\n18446744073709551616\n{root}\n"),
        "origin\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I\n".into(),
        "origin\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxqw==\n".into(),
        format!("origin\n5\n{root}\n\nextension\n"),
        format!("origin\n5\n{root}\nbad\textension\n"),
    ] {
        assert!(
            matches!(
                Checkpoint::parse(&body),
                Err(NoteError::MalformedCheckpoint(_))
            ),
            "{body:?}"
        );
    }
    let signer = NoteSigner::from_seed("k", [1; 32]).expect("valid");
    let bad = Checkpoint::new("two\nlines", 1, [0; 32]);
    assert!(signer.sign_checkpoint(&bad).is_err());
    assert_eq!(
        NoteSigner::from_seed("bad name", [1; 32]).err(),
        Some(NoteError::InvalidName)
    );
    assert_eq!(
        Checkpoint::parse(&format!("origin\n0\n{root}\n")).map(|c| c.size),
        Ok(0)
    );
}
