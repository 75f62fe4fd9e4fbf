//! The conformance suite every Quiver backend runs, and a fourth-party backend can
//! run to learn whether it is correct.
//!
//! A backend implements [`EngineFactory`] and instantiates the suite in a test file:
//!
//! ```ignore
//! // engine-mine/tests/conformance.rs
//! struct Mine;
//! impl conformance::EngineFactory for Mine {
//!     type Engine = engine_mine::Engine;
//!     fn open(&self, dir: &std::path::Path) -> engine_api::Result<Self::Engine> {
//!         engine_mine::Engine::open(dir)
//!     }
//! }
//! conformance::suite!(Mine);
//! ```
//!
//! The macro expands to one `#[test]` per test function, in one module per topic, so
//! `cargo test` lists `values::every_type_round_trips`, `isolation::g1a_aborted_read`
//! and so on. The tests read the backend's [`engine_api::Capabilities`] and check the
//! contract it declares: a backend without rollback is tested to really keep its
//! writes, one without isolation is tested to show writes at once, and so on. Nothing
//! is skipped in silence.
//!
//! While work is in progress a backend may list tests it is known to fail in
//! [`EngineFactory::known_failures`]; a listed test that passes fails the run, so the
//! list only shrinks.
#![deny(missing_docs)]

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::path::Path;

use engine_api::{Result, StorageEngine};

pub mod capabilities;
pub mod concurrency;
pub mod conflicts;
pub mod constraints;
pub mod crash;
pub mod dump;
pub mod durability;
pub mod faults;
pub mod graph;
pub mod images;
pub mod index_build;
pub mod indexes;
pub mod isolation;
pub mod model;
pub mod scans;
mod schema_support;
mod support;
pub mod transactions;
pub mod triggers;
pub mod values;

/// How the suite gets engines of one backend.
pub trait EngineFactory: Sync {
    /// The engine type.
    type Engine: StorageEngine;

    /// Opens an engine whose data directory is `dir`. The suite gives a fresh, empty
    /// directory for a fresh engine, and the same directory again to reopen one after
    /// `close` (or after dropping it without `close`, which simulates a crash). A
    /// backend without durability ignores `dir`.
    fn open(&self, dir: &Path) -> Result<Self::Engine>;

    /// Tests (named `topic::test`) this backend is known to fail for now.
    fn known_failures(&self) -> &[&str] {
        &[]
    }
}

/// Runs one test of the suite for `factory`, applying the known-failures list.
#[doc(hidden)]
pub fn run<F: EngineFactory>(factory: &F, name: &str, test: fn(&F) -> Result<()>) {
    let known = factory.known_failures().contains(&name);
    // A test that blocks forever (a transaction waiting for one that can never finish)
    // ends the test process with a message instead of hanging the suite.
    let watchdog = support::Watchdog::start(format!("conformance test {name}"));
    let outcome = catch_unwind(AssertUnwindSafe(|| test(factory)));
    drop(watchdog);
    match (known, outcome) {
        (false, Ok(Ok(()))) => {}
        (false, Ok(Err(e))) => panic!("{name} failed: {e}"),
        (false, Err(panic)) => resume_unwind(panic),
        (true, Ok(Ok(()))) => {
            panic!("{name} is listed as a known failure but passed: remove it from known_failures")
        }
        (true, _) => eprintln!("{name}: failed, as listed in known_failures"),
    }
}

/// Checks that every known-failure entry names a test of the suite.
#[doc(hidden)]
pub fn check_known_failures<F: EngineFactory>(factory: &F) {
    for name in factory.known_failures() {
        assert!(
            ALL_TESTS.contains(name),
            "known_failures lists {name}, which is not a test of the suite"
        );
    }
}

/// The single list of the suite's tests, by topic. `suite!` and [`ALL_TESTS`] are both
/// built from it.
#[doc(hidden)]
#[macro_export]
macro_rules! __for_each_test {
    ($callback:ident ! ($($args:tt)*)) => {
        $crate::$callback! { ($($args)*)
            capabilities: [
                capabilities_are_consistent,
                rollback_behaves_as_declared,
                conflict_detection_behaves_as_declared,
                undeclared_operations_are_unsupported,
            ],
            values: [
                every_type_round_trips,
                numeric_edge_cases_round_trip,
                strings_round_trip,
                deep_nesting_round_trips_and_too_deep_is_refused,
                unicode_names_work,
                empty_names_are_invalid_input,
                null_removes_a_property,
                edge_properties_round_trip,
                borrowed_reads_see_what_owned_reads_see,
            ],
            graph: [
                created_vertex_is_readable,
                labels_are_added_and_removed,
                many_labels_are_kept_and_rolled_back,
                properties_are_set_replaced_and_removed,
                edges_connect_source_and_target,
                parallel_edges_are_distinct,
                self_loops_are_allowed,
                deleting_an_edge_removes_it_from_both_endpoints,
                plain_delete_of_connected_vertex_fails,
                detach_delete_removes_the_edges,
                unknown_ids_are_not_found,
                deleted_ids_are_not_found,
                ids_are_never_reused,
                stats_count_committed_objects,
            ],
            scans: [
                all_vertices_in_ascending_order,
                label_scan_returns_only_that_label,
                label_scan_sees_own_writes,
                property_lookup_by_equality,
                property_lookup_by_range,
                edges_by_direction_and_type,
                iterators_see_own_writes,
                counts_match_scans,
            ],
            transactions: [
                commit_makes_writes_visible,
                rollback_undoes_every_kind_of_change,
                drop_without_commit_rolls_back,
                read_only_transactions_refuse_writes,
                commit_timestamps_increase,
            ],
            isolation: [
                g0_dirty_write,
                g1a_aborted_read,
                g1b_intermediate_read,
                g1c_circular_information_flow,
                otv_observed_transaction_vanishes,
                p2_non_repeatable_read,
                pmp_predicate_many_preceders,
                p4_lost_update,
                g_single_read_skew,
                g2_item_write_skew,
            ],
            conflicts: [
                first_writer_wins_with_retryable_conflict,
                conflict_rolls_back_the_losers_earlier_writes,
                write_after_concurrent_commit_conflicts_under_si,
                create_edge_conflicts_with_delete_of_endpoint,
                delete_endpoint_conflicts_with_create_edge,
                delete_that_began_before_an_edge_commit_leaves_no_dangling_edge,
                endpoints_are_checked_again_after_delete_rollback_and_creation,
                writers_of_different_objects_do_not_conflict,
                retry_after_conflict_succeeds,
            ],
            model: [
                random_operations_match_the_reference_model,
            ],
            concurrency: [
                bank_transfers_keep_the_total,
                concurrent_creators_get_distinct_ids,
                borrowed_reads_may_read_other_objects_while_writers_run,
                readers_do_not_block_writers,
            ],
            indexes: [
                index_on_existing_data_serves_lookups,
                index_follows_writes_and_rollbacks,
                composite_index_serves_prefix_lookups,
                edge_indexes_serve_lookups,
                index_definitions_are_checked_and_dropped,
                index_lookups_equal_scans_under_random_writes,
            ],
            constraints: [
                existence_constraint_is_enforced_at_commit,
                uniqueness_constraint_is_enforced_at_commit,
                type_constraint_is_enforced_at_commit,
                creating_a_violated_constraint_fails_and_leaves_none,
                concurrent_unique_inserts_cannot_both_commit,
            ],
            triggers: [
                triggers_are_stored_listed_and_dropped,
                after_commit_observers_see_changes_in_commit_order,
                before_commit_observers_can_veto,
            ],
            durability: [
                reopen_after_close_keeps_everything,
                crash_keeps_every_committed_transaction,
                ids_are_not_reused_after_reopen,
                snapshots_are_created_and_listed,
                snapshot_and_later_commits_survive_a_crash,
                lock_defers_deletions_until_unlock,
                leases_and_the_lock_overlap,
                closing_while_locked_keeps_the_deferred_files_until_the_next_snapshot,
                snapshot_only_restore,
                a_snapshot_wider_than_one_encoding_range_restores_whole,
                a_restored_snapshot_with_a_damaged_magic_is_corrupt,
                a_damaged_newest_snapshot_is_reported_after_the_fallback,
                the_recovery_report_gives_the_logs_commit_times,
                damaged_files_give_corrupt_or_the_same_graph,
                garbage_after_the_log_keeps_the_last_commit,
                a_second_open_of_the_directory_is_locked,
                schema_survives_reopen_and_crash,
                a_snapshot_holds_the_schema,
            ],
            dump: [
                generated_graphs_survive_a_dump_and_load,
                schema_and_triggers_survive_a_dump_and_load,
            ],
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __names {
    (() $($topic:ident : [$($name:ident),* $(,)?]),* $(,)?) => {
        &[$($(concat!(stringify!($topic), "::", stringify!($name)),)*)*]
    };
}

/// Every test of the suite, as `topic::test`.
pub const ALL_TESTS: &[&str] = __for_each_test!(__names!());

#[doc(hidden)]
#[macro_export]
macro_rules! __suite {
    (($factory:expr) $($topic:ident : [$($name:ident),* $(,)?]),* $(,)?) => {
        $(
            mod $topic {
                #[allow(unused_imports)]
                use super::*;
                $(
                    #[test]
                    fn $name() {
                        $crate::run(
                            &$factory,
                            concat!(stringify!($topic), "::", stringify!($name)),
                            $crate::$topic::$name,
                        );
                    }
                )*
            }
        )*

        #[test]
        fn known_failures_name_tests_of_the_suite() {
            $crate::check_known_failures(&$factory);
        }
    };
}

/// Instantiates the whole suite for a factory value: one `#[test]` per test
/// function, in one module per topic.
#[macro_export]
macro_rules! suite {
    ($factory:expr) => {
        $crate::__for_each_test!(__suite!($factory));
    };
}

/// The README's examples, compiled and run as doctests (here, above every backend:
/// they use all of them).
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;

#[cfg(test)]
mod tests {
    use std::panic::catch_unwind;

    use super::*;

    struct Listing(&'static [&'static str]);

    impl EngineFactory for Listing {
        type Engine = engine_inmem_txn::InMemoryEngine;
        fn open(&self, _dir: &Path) -> Result<Self::Engine> {
            engine_inmem_txn::InMemoryEngine::open(engine_inmem_txn::Config::default())
        }
        fn known_failures(&self) -> &[&str] {
            self.0
        }
    }

    fn fails(_: &Listing) -> Result<()> {
        Err(engine_api::Error::not_found("deliberate"))
    }

    fn passes(_: &Listing) -> Result<()> {
        Ok(())
    }

    #[test]
    fn a_listed_test_that_fails_is_tolerated() {
        run(&Listing(&["t::x"]), "t::x", fails);
    }

    #[test]
    fn a_listed_test_that_passes_fails_the_run() {
        let r = catch_unwind(|| run(&Listing(&["t::x"]), "t::x", passes));
        assert!(r.is_err(), "a passing known failure must fail the run");
    }

    #[test]
    fn an_unlisted_failure_fails_the_run() {
        let r = catch_unwind(|| run(&Listing(&[]), "t::x", fails));
        assert!(r.is_err());
    }

    #[test]
    fn known_failures_must_name_real_tests() {
        check_known_failures(&Listing(&["graph::ids_are_never_reused"]));
        let r = catch_unwind(|| check_known_failures(&Listing(&["graph::no_such_test"])));
        assert!(r.is_err());
    }

    #[test]
    fn the_test_list_has_every_topic() {
        assert!(ALL_TESTS.contains(&"isolation::g2_item_write_skew"));
        assert!(ALL_TESTS.contains(&"model::random_operations_match_the_reference_model"));
        assert!(ALL_TESTS.contains(&"indexes::index_on_existing_data_serves_lookups"));
        assert!(ALL_TESTS.contains(&"constraints::concurrent_unique_inserts_cannot_both_commit"));
        assert!(ALL_TESTS.contains(&"triggers::before_commit_observers_can_veto"));
        assert!(ALL_TESTS.contains(&"durability::schema_survives_reopen_and_crash"));
        assert_eq!(ALL_TESTS.len(), 98);
    }
}
