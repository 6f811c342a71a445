//! The order between participants, as one dependency graph: each participant names those it
//! waits for. Sequential groups (parallel inside a group), numbered sequences and
//! arbitrary "after" edges (every vendor's way of ordering signers) all become this graph, which must be acyclic and may only wait for
//! participants who act (signers and approvers).

use std::collections::{BTreeMap, BTreeSet};

use super::model::{ParticipantKey, Role};

/// One participant as the order sees it.
#[derive(Debug, Clone, Copy)]
pub struct OrderNode<'a> {
    /// Its key.
    pub key: &'a ParticipantKey,
    /// Its role.
    pub role: Role,
    /// Whom it waits for.
    pub after: &'a [ParticipantKey],
}

/// An order that cannot be followed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OrderError {
    /// An edge names no participant of the envelope.
    #[error("{participant} waits for {after}, who is not a participant")]
    UnknownKey {
        /// The participant whose edge it is.
        participant: ParticipantKey,
        /// The unknown key.
        after: ParticipantKey,
    },
    /// A participant waits for itself.
    #[error("{participant} waits for itself")]
    SelfEdge {
        /// The participant.
        participant: ParticipantKey,
    },
    /// Participants wait for each other in a circle.
    #[error("{participant} waits for itself through {}", display_cycle(.cycle))]
    Cycle {
        /// A participant on the cycle (the first of `cycle`).
        participant: ParticipantKey,
        /// The cycle, each waiting for the next, the last waiting for the first.
        cycle: Vec<ParticipantKey>,
    },
    /// An edge names a viewer or copy recipient, who never act and so would be waited for
    /// for ever.
    #[error("{participant} waits for {after}, a {} who never acts", .role.as_str())]
    WaitsForNonActor {
        /// The participant whose edge it is.
        participant: ParticipantKey,
        /// The viewer or copy recipient.
        after: ParticipantKey,
        /// Its role.
        role: Role,
    },
    /// A copy recipient was given an order: it receives the result at completion, so an
    /// order for it means nothing and is refused rather than ignored.
    #[error("{participant} receives a copy at completion and cannot wait for anyone")]
    CopyOrdered {
        /// The copy recipient.
        participant: ParticipantKey,
    },
}

fn display_cycle(cycle: &[ParticipantKey]) -> String {
    let mut names: Vec<&str> = cycle.iter().map(ParticipantKey::as_str).collect();
    if let Some(first) = cycle.first() {
        names.push(first.as_str());
    }
    names.join(" → ")
}

/// Checks an order: every edge names a known participant who acts, nobody waits for itself,
/// copies wait for nobody, and there is no cycle (the error names a participant on one and the
/// whole cycle). Duplicate edges are harmless. Keys are taken to be unique (the caller checks).
pub fn check(nodes: &[OrderNode<'_>]) -> Result<(), OrderError> {
    let index: BTreeMap<&ParticipantKey, usize> =
        nodes.iter().enumerate().map(|(i, n)| (n.key, i)).collect();
    let mut deps: Vec<BTreeSet<usize>> = Vec::with_capacity(nodes.len());
    for node in nodes {
        if node.role == Role::Copy && !node.after.is_empty() {
            return Err(OrderError::CopyOrdered {
                participant: node.key.clone(),
            });
        }
        let mut mine = BTreeSet::new();
        for after in node.after {
            if after == node.key {
                return Err(OrderError::SelfEdge {
                    participant: node.key.clone(),
                });
            }
            let Some(&target) = index.get(after) else {
                return Err(OrderError::UnknownKey {
                    participant: node.key.clone(),
                    after: after.clone(),
                });
            };
            let role = nodes[target].role;
            if !role.acts() {
                return Err(OrderError::WaitsForNonActor {
                    participant: node.key.clone(),
                    after: after.clone(),
                    role,
                });
            }
            mine.insert(target);
        }
        deps.push(mine);
    }
    match find_cycle(&deps) {
        Some(cycle) => {
            let cycle: Vec<ParticipantKey> = cycle.iter().map(|&i| nodes[i].key.clone()).collect();
            Err(OrderError::Cycle {
                participant: cycle[0].clone(),
                cycle,
            })
        }
        None => Ok(()),
    }
}

/// A cycle of the graph (`deps[i]` = the nodes `i` waits for), each node waiting for the next
/// and the last for the first, starting with its lowest node; `None` when the graph is acyclic.
fn find_cycle(deps: &[BTreeSet<usize>]) -> Option<Vec<usize>> {
    // Peel off, again and again, the nodes whose every dependency is already peeled (Kahn).
    let mut peeled = vec![false; deps.len()];
    loop {
        let ready: Vec<usize> = (0..deps.len())
            .filter(|&i| !peeled[i] && deps[i].iter().all(|&d| peeled[d]))
            .collect();
        if ready.is_empty() {
            break;
        }
        for i in ready {
            peeled[i] = true;
        }
    }
    // Each node left waits for another node left; following such edges from the first one must
    // come back to a node already seen, and the walk from there on is a cycle.
    let start = peeled.iter().position(|p| !p)?;
    let mut walk = vec![start];
    let mut current = start;
    loop {
        let next = *deps[current].iter().find(|&&d| !peeled[d])?;
        if let Some(at) = walk.iter().position(|&n| n == next) {
            // Start the cycle at its member listed first, so that the answer does not depend on
            // where the walk entered it.
            let mut cycle = walk.split_off(at);
            let first = cycle
                .iter()
                .enumerate()
                .min_by_key(|&(_, &node)| node)
                .map_or(0, |(i, _)| i);
            cycle.rotate_left(first);
            return Some(cycle);
        }
        walk.push(next);
        current = next;
    }
}

/// The edges of sequential groups: everyone in a group waits for everyone in the group before
/// it; members of one group act in parallel.
pub fn group_edges(
    groups: &[Vec<ParticipantKey>],
) -> BTreeMap<ParticipantKey, Vec<ParticipantKey>> {
    let mut edges = BTreeMap::new();
    let mut previous: &[ParticipantKey] = &[];
    for group in groups {
        for member in group {
            edges.insert(member.clone(), previous.to_vec());
        }
        previous = group;
    }
    edges
}

/// The edges of a numbered sequence (a vendor's per-signer sequence number): participants sharing a number
/// act in parallel, after everyone with the next lower number; number 0 means "no sequence"
/// and waits for nobody (nor is waited for).
pub fn sequence_edges(
    numbers: &[(ParticipantKey, u32)],
) -> BTreeMap<ParticipantKey, Vec<ParticipantKey>> {
    let mut groups: BTreeMap<u32, Vec<ParticipantKey>> = BTreeMap::new();
    let mut edges = BTreeMap::new();
    for (key, number) in numbers {
        if *number == 0 {
            edges.insert(key.clone(), Vec::new());
        } else {
            groups.entry(*number).or_default().push(key.clone());
        }
    }
    edges.extend(group_edges(&groups.into_values().collect::<Vec<_>>()));
    edges
}

/// Those among `after` who are not `done` yet: whom a participant still waits for.
pub fn unmet(
    after: &[ParticipantKey],
    done: impl Fn(&ParticipantKey) -> bool,
) -> Vec<&ParticipantKey> {
    let mut seen = BTreeSet::new();
    after
        .iter()
        .filter(|k| !done(k) && seen.insert(*k))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key(name: &str) -> ParticipantKey {
        name.parse().expect("a key")
    }

    fn keys(names: &[&str]) -> Vec<ParticipantKey> {
        names.iter().map(|n| key(n)).collect()
    }

    /// Builds nodes from `(key, role, after)` and checks them.
    fn check_all(spec: &[(&str, Role, &[&str])]) -> Result<(), OrderError> {
        let owned: Vec<(ParticipantKey, Role, Vec<ParticipantKey>)> =
            spec.iter().map(|(k, r, a)| (key(k), *r, keys(a))).collect();
        let nodes: Vec<OrderNode<'_>> = owned
            .iter()
            .map(|(k, r, a)| OrderNode {
                key: k,
                role: *r,
                after: a,
            })
            .collect();
        check(&nodes)
    }

    use Role::*;

    #[test]
    fn a_sound_order_passes() {
        assert_eq!(
            check_all(&[
                ("a", Signer, &[]),
                ("b", Approver, &["a"]),
                ("c", Signer, &["a", "b", "a"]),
                ("v", Viewer, &["c"]),
                ("cc", Copy, &[]),
            ]),
            Ok(())
        );
        assert_eq!(check_all(&[]), Ok(()));
    }

    #[test]
    fn bad_edges_are_named() {
        assert_eq!(
            check_all(&[("a", Signer, &["zz"])]),
            Err(OrderError::UnknownKey {
                participant: key("a"),
                after: key("zz")
            })
        );
        assert_eq!(
            check_all(&[("a", Signer, &[]), ("b", Signer, &["b"])]),
            Err(OrderError::SelfEdge {
                participant: key("b")
            })
        );
        assert_eq!(
            check_all(&[("v", Viewer, &[]), ("b", Signer, &["v"])]),
            Err(OrderError::WaitsForNonActor {
                participant: key("b"),
                after: key("v"),
                role: Viewer
            })
        );
        assert_eq!(
            check_all(&[("c", Copy, &[]), ("b", Approver, &["c"])]),
            Err(OrderError::WaitsForNonActor {
                participant: key("b"),
                after: key("c"),
                role: Copy
            })
        );
        assert_eq!(
            check_all(&[("a", Signer, &[]), ("c", Copy, &["a"])]),
            Err(OrderError::CopyOrdered {
                participant: key("c")
            })
        );
    }

    #[test]
    fn cycles_are_named_with_their_members() {
        let err = check_all(&[
            ("start", Signer, &[]),
            ("down", Signer, &["b"]),
            ("a", Signer, &["start", "c"]),
            ("b", Signer, &["a"]),
            ("c", Signer, &["b"]),
        ]);
        // `down` hangs off the cycle without being on it: the cycle is a → c → b → a.
        assert_eq!(
            err,
            Err(OrderError::Cycle {
                participant: key("a"),
                cycle: keys(&["a", "c", "b"])
            })
        );
        assert_eq!(
            err.map_err(|e| e.to_string()),
            Err("a waits for itself through a → c → b → a".to_owned())
        );
        assert_eq!(
            check_all(&[("x", Signer, &["y"]), ("y", Approver, &["x"])]),
            Err(OrderError::Cycle {
                participant: key("x"),
                cycle: keys(&["x", "y"])
            })
        );
    }

    #[test]
    fn groups_and_sequences_become_edges() {
        let edges = group_edges(&[keys(&["a"]), keys(&["b", "c"]), keys(&["d"])]);
        assert_eq!(edges[&key("a")], keys(&[]));
        assert_eq!(edges[&key("b")], keys(&["a"]));
        assert_eq!(edges[&key("c")], keys(&["a"]));
        assert_eq!(edges[&key("d")], keys(&["b", "c"]));

        let edges = sequence_edges(&[
            (key("third"), 5),
            (key("first"), 1),
            (key("free"), 0),
            (key("second"), 2),
            (key("second bis"), 2),
        ]);
        assert_eq!(edges.len(), 5);
        assert_eq!(edges[&key("free")], keys(&[]));
        assert_eq!(edges[&key("first")], keys(&[]));
        assert_eq!(edges[&key("second")], keys(&["first"]));
        assert_eq!(edges[&key("second bis")], keys(&["first"]));
        assert_eq!(edges[&key("third")], keys(&["second", "second bis"]));
    }

    #[test]
    fn unmet_lists_each_pending_dependency_once() {
        let after = keys(&["a", "b", "a", "c"]);
        let done = key("b");
        assert_eq!(unmet(&after, |k| *k == done), vec![&after[0], &after[3]]);
        assert!(unmet(&after, |_| true).is_empty());
    }

    proptest! {
        /// Edges that only point to earlier participants never make a cycle; adding one edge
        /// from the first to the last of a chain always does, and the cycle reported is real:
        /// each member waits for the next, and it starts with the member listed first.
        #[test]
        fn cycles_are_found_exactly(
            n in 2usize..8,
            raw in proptest::collection::vec((0usize..8, 0usize..8), 0..20),
        ) {
            let names: Vec<ParticipantKey> = (0..n).map(|i| key(&format!("p{i}"))).collect();
            let mut after: Vec<Vec<ParticipantKey>> = vec![Vec::new(); n];
            for (a, b) in raw {
                let (a, b) = (a % n, b % n);
                if b < a {
                    after[a].push(names[b].clone());
                }
            }
            let nodes = |after: &[Vec<ParticipantKey>]| -> Result<(), OrderError> {
                let nodes: Vec<OrderNode<'_>> = names
                    .iter()
                    .zip(after)
                    .map(|(k, a)| OrderNode { key: k, role: Signer, after: a })
                    .collect();
                check(&nodes)
            };
            prop_assert_eq!(nodes(&after), Ok(()));
            // Make a chain 0 ← 1 ← … ← n-1, then close it.
            for i in 1..n {
                after[i].push(names[i - 1].clone());
            }
            prop_assert_eq!(nodes(&after), Ok(()));
            after[0].push(names[n - 1].clone());
            match nodes(&after) {
                Err(OrderError::Cycle { participant, cycle }) => {
                    prop_assert_eq!(&participant, &cycle[0]);
                    let position = |k: &ParticipantKey| names.iter().position(|n| n == k);
                    prop_assert!(cycle.iter().all(|k| position(k) >= position(&participant)));
                    for (i, member) in cycle.iter().enumerate() {
                        let next = &cycle[(i + 1) % cycle.len()];
                        let at = names.iter().position(|k| k == member).expect("known");
                        prop_assert!(after[at].contains(next), "{member} does not wait for {next}");
                    }
                }
                other => prop_assert!(false, "expected a cycle, got {:?}", other),
            }
        }
    }
}
