//! Definitions of indexes, constraints and triggers (schema operations run outside
//! user transactions), and the commit observers that let an embedder fire triggers.

use std::fmt;
use std::sync::Arc;

use crate::error::{Error, ErrorKind, Result};
use crate::ids::{EdgeId, EdgeRecord, VertexId, validate_name};
use crate::value::{PropertyMap, PropertyValue};

/// An index definition.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IndexSpec {
    /// All vertices with a label.
    Label(String),
    /// Vertices with a label, by one or several properties (several: a composite
    /// index, usable by a prefix of its properties).
    LabelProperties {
        /// The label.
        label: String,
        /// The properties, in index order.
        properties: Vec<String>,
    },
    /// All edges of a type.
    EdgeType(String),
    /// Edges of a type, by one property.
    EdgeTypeProperty {
        /// The edge type.
        edge_type: String,
        /// The property.
        property: String,
    },
}

impl IndexSpec {
    /// Checks the names: none empty, at least one property, no property twice.
    pub fn validate(&self) -> Result<()> {
        match self {
            IndexSpec::Label(label) => validate_name("label", label),
            IndexSpec::LabelProperties { label, properties } => {
                validate_name("label", label)?;
                validate_properties(properties)
            }
            IndexSpec::EdgeType(t) => validate_name("edge type", t),
            IndexSpec::EdgeTypeProperty {
                edge_type,
                property,
            } => {
                validate_name("edge type", edge_type)?;
                validate_name("property key", property)
            }
        }
    }

    /// True for indexes over vertices (by label), false for edge indexes.
    pub fn is_vertex_index(&self) -> bool {
        matches!(
            self,
            IndexSpec::Label(_) | IndexSpec::LabelProperties { .. }
        )
    }
}

/// The rule of [`crate::Transaction::vertex_lookup_index`] for backends: of the
/// candidate label+properties indexes (each given by its property keys, in index
/// order), the one whose leading properties make the longest run of `filtered` keys
/// serves the lookup; the first of equals wins, and an index whose first property is
/// not filtered serves none.
pub fn best_prefix_index<'k, K: PartialEq + 'k, T>(
    candidates: impl IntoIterator<Item = (&'k [K], T)>,
    filtered: &[K],
) -> Option<T> {
    let mut best: Option<(usize, T)> = None;
    for (keys, candidate) in candidates {
        let run = keys.iter().take_while(|k| filtered.contains(k)).count();
        if run > 0 && best.as_ref().is_none_or(|(b, _)| run > *b) {
            best = Some((run, candidate));
        }
    }
    best.map(|(_, c)| c)
}

fn validate_properties(properties: &[String]) -> Result<()> {
    if properties.is_empty() {
        return Err(Error::invalid_input("at least one property is needed"));
    }
    for (i, p) in properties.iter().enumerate() {
        validate_name("property key", p)?;
        if properties[..i].contains(p) {
            return Err(Error::invalid_input(format!(
                "property {p:?} is listed twice"
            )));
        }
    }
    Ok(())
}

/// Writes a name in backticks, doubling backticks inside it (the Cypher dialect's
/// quoting), so any name reads unambiguously in messages.
fn quoted(f: &mut fmt::Formatter<'_>, name: &str) -> fmt::Result {
    write!(f, "`{}`", name.replace('`', "``"))
}

fn quoted_list(f: &mut fmt::Formatter<'_>, var: &str, names: &[String]) -> fmt::Result {
    for (i, p) in names.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        if !var.is_empty() {
            write!(f, "{var}.")?;
        }
        quoted(f, p)?;
    }
    Ok(())
}

impl IndexSpec {
    /// The index as a message names it, without an article: "index :`L`(`p`)",
    /// "edge index :`T`".
    pub fn named(&self) -> String {
        let form = self.to_string();
        match form.strip_prefix("EDGE ") {
            Some(edge) => format!("edge index {edge}"),
            None => format!("index {form}"),
        }
    }
}

/// The Cypher form of the index (`:`L`(`p`)`, `EDGE :`T``, ...).
impl fmt::Display for IndexSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IndexSpec::Label(l) => {
                f.write_str(":")?;
                quoted(f, l)
            }
            IndexSpec::LabelProperties { label, properties } => {
                f.write_str(":")?;
                quoted(f, label)?;
                f.write_str("(")?;
                quoted_list(f, "", properties)?;
                f.write_str(")")
            }
            IndexSpec::EdgeType(t) => {
                f.write_str("EDGE :")?;
                quoted(f, t)
            }
            IndexSpec::EdgeTypeProperty {
                edge_type,
                property,
            } => {
                f.write_str("EDGE :")?;
                quoted(f, edge_type)?;
                f.write_str("(")?;
                quoted(f, property)?;
                f.write_str(")")
            }
        }
    }
}

/// An index and its size, as listed by [`crate::StorageEngine::indexes`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexInfo {
    /// The definition.
    pub spec: IndexSpec,
    /// The number of entries. A multi-version backend may count entries of versions
    /// that only running transactions still see until garbage collection drops them.
    pub entries: u64,
}

/// The value types a type constraint can require.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ValueType {
    /// Bool.
    Bool,
    /// Int.
    Int,
    /// Float.
    Float,
    /// String.
    String,
    /// List.
    List,
    /// Map.
    Map,
    /// Date.
    Date,
    /// LocalTime.
    LocalTime,
    /// LocalDateTime.
    LocalDateTime,
    /// Duration.
    Duration,
    /// ZonedDateTime.
    ZonedDateTime,
    /// Point.
    Point,
}

impl ValueType {
    /// The type of a value; `None` for `Null` (a type constraint only applies to
    /// properties that are present).
    pub fn of(value: &PropertyValue) -> Option<ValueType> {
        use PropertyValue as V;
        Some(match value {
            V::Null => return None,
            V::Bool(_) => ValueType::Bool,
            V::Int(_) => ValueType::Int,
            V::Float(_) => ValueType::Float,
            V::String(_) => ValueType::String,
            V::List(_) => ValueType::List,
            V::Map(_) => ValueType::Map,
            V::Date(_) => ValueType::Date,
            V::LocalTime(_) => ValueType::LocalTime,
            V::LocalDateTime(_) => ValueType::LocalDateTime,
            V::Duration(_) => ValueType::Duration,
            V::ZonedDateTime(_) => ValueType::ZonedDateTime,
            V::Point(_) => ValueType::Point,
        })
    }

    /// The Cypher name of the type (`INTEGER`, `STRING`, ...).
    pub fn cypher_name(self) -> &'static str {
        match self {
            ValueType::Bool => "BOOLEAN",
            ValueType::Int => "INTEGER",
            ValueType::Float => "FLOAT",
            ValueType::String => "STRING",
            ValueType::List => "LIST",
            ValueType::Map => "MAP",
            ValueType::Date => "DATE",
            ValueType::LocalTime => "LOCALTIME",
            ValueType::LocalDateTime => "LOCALDATETIME",
            ValueType::Duration => "DURATION",
            ValueType::ZonedDateTime => "ZONEDDATETIME",
            ValueType::Point => "POINT",
        }
    }

    /// Every type, in declaration order (the stable order of on-disk codes).
    pub const ALL: [ValueType; 12] = [
        ValueType::Bool,
        ValueType::Int,
        ValueType::Float,
        ValueType::String,
        ValueType::List,
        ValueType::Map,
        ValueType::Date,
        ValueType::LocalTime,
        ValueType::LocalDateTime,
        ValueType::Duration,
        ValueType::ZonedDateTime,
        ValueType::Point,
    ];
}

/// A constraint definition.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ConstraintSpec {
    /// Every vertex with `label` has `property`.
    Exists {
        /// The label.
        label: String,
        /// The property.
        property: String,
    },
    /// No two vertices with `label` have equal values for all of `properties`.
    Unique {
        /// The label.
        label: String,
        /// The properties.
        properties: Vec<String>,
    },
    /// `property`, where present on a vertex with `label`, has type `value_type`.
    Type {
        /// The label.
        label: String,
        /// The property.
        property: String,
        /// The required type.
        value_type: ValueType,
    },
}

impl ConstraintSpec {
    /// Checks the names: none empty, a uniqueness constraint has at least one property
    /// and none twice.
    pub fn validate(&self) -> Result<()> {
        validate_name("label", self.label())?;
        match self {
            ConstraintSpec::Exists { property, .. } | ConstraintSpec::Type { property, .. } => {
                validate_name("property key", property)
            }
            ConstraintSpec::Unique { properties, .. } => validate_properties(properties),
        }
    }

    /// The label the constraint applies to.
    pub fn label(&self) -> &str {
        match self {
            ConstraintSpec::Exists { label, .. }
            | ConstraintSpec::Unique { label, .. }
            | ConstraintSpec::Type { label, .. } => label,
        }
    }

    /// Whether this constraint and `other` constrain the same thing, so both cannot
    /// exist at once (two type constraints on one property with different types count).
    pub fn same_target(&self, other: &ConstraintSpec) -> bool {
        match (self, other) {
            (
                ConstraintSpec::Type {
                    label: a,
                    property: p,
                    ..
                },
                ConstraintSpec::Type {
                    label: b,
                    property: q,
                    ..
                },
            ) => a == b && p == q,
            _ => self == other,
        }
    }

    /// Checks the rule of an existence or type constraint against `value`, the
    /// property a vertex that has the constraint's label holds (`None`: not set); every
    /// backend checks these rules through this. A uniqueness constraint compares
    /// vertices with each other, which each backend does with its own index, and
    /// reports with [`ConstraintSpec::duplicate`]; here it always passes. A uniqueness
    /// constraint applies only to vertices that have every one of its properties.
    pub fn check_property(&self, vertex: VertexId, value: Option<&PropertyValue>) -> Result<()> {
        match (self, value) {
            (ConstraintSpec::Exists { .. }, None) => {
                Err(self.violation(vertex, "the property is missing"))
            }
            (ConstraintSpec::Type { value_type, .. }, Some(v))
                if ValueType::of(v) != Some(*value_type) =>
            {
                let found = ValueType::of(v).map_or("NULL", ValueType::cypher_name);
                Err(self.violation(vertex, &format!("the property is of type {found}")))
            }
            _ => Ok(()),
        }
    }

    /// The error of a uniqueness constraint: `vertex` has the same values as `other`.
    pub fn duplicate(&self, vertex: VertexId, other: VertexId) -> Error {
        self.violation(vertex, &format!("vertex {} has the same values", other.0))
    }

    /// The error for `vertex` violating this constraint; `detail` says how.
    pub fn violation(&self, vertex: VertexId, detail: &str) -> Error {
        Error::new(
            ErrorKind::ConstraintViolation,
            format!(
                "constraint {self} is violated by vertex {}: {detail}",
                vertex.0
            ),
        )
    }
}

/// The Cypher form of the constraint.
impl fmt::Display for ConstraintSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ON (u:")?;
        quoted(f, self.label())?;
        f.write_str(") ASSERT ")?;
        match self {
            ConstraintSpec::Exists { property, .. } => {
                f.write_str("EXISTS (u.")?;
                quoted(f, property)?;
                f.write_str(")")
            }
            ConstraintSpec::Unique { properties, .. } => {
                quoted_list(f, "u", properties)?;
                f.write_str(" IS UNIQUE")
            }
            ConstraintSpec::Type {
                property,
                value_type,
                ..
            } => {
                f.write_str("u.")?;
                quoted(f, property)?;
                write!(f, " IS TYPED {}", value_type.cypher_name())
            }
        }
    }
}

/// Which changes fire a trigger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TriggerEvent {
    /// Any change.
    Any,
    /// A vertex was created.
    VertexCreate,
    /// An edge was created.
    EdgeCreate,
    /// A vertex or edge was updated.
    Update,
    /// A vertex or edge was deleted.
    Delete,
}

/// When a trigger runs relative to the commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TriggerPhase {
    /// Before the commit completes (it may veto it).
    BeforeCommit,
    /// After the commit.
    AfterCommit,
}

/// Whose privileges a trigger's statement runs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TriggerSecurity {
    /// The user whose transaction fired it.
    Invoker,
    /// The user who defined it.
    Definer,
}

/// A stored trigger: the engine keeps it in its catalog; an embedder runs it, for
/// example from a [`CommitObserver`] registered for its phase.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TriggerSpec {
    /// Unique name.
    pub name: String,
    /// What fires it.
    pub event: TriggerEvent,
    /// Before or after commit.
    pub phase: TriggerPhase,
    /// Security mode.
    pub security: TriggerSecurity,
    /// The statement text, as given.
    pub statement: String,
}

impl TriggerSpec {
    /// Checks the name and statement: neither may be empty.
    pub fn validate(&self) -> Result<()> {
        validate_name("trigger name", &self.name)?;
        if self.statement.trim().is_empty() {
            return Err(Error::invalid_input(format!(
                "trigger {:?} has an empty statement",
                self.name
            )));
        }
        Ok(())
    }
}

/// One change of a transaction, as a [`CommitObserver`] receives it. Old values are
/// the values the transaction overwrote.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Change {
    /// A vertex was created with these labels and properties.
    VertexCreated {
        /// The vertex.
        vertex: VertexId,
        /// Its labels, as given.
        labels: Vec<String>,
        /// Its properties.
        properties: PropertyMap,
    },
    /// A vertex was deleted; its labels and properties just before.
    VertexDeleted {
        /// The vertex.
        vertex: VertexId,
        /// Its labels.
        labels: Vec<String>,
        /// Its properties.
        properties: PropertyMap,
    },
    /// A label was added to a vertex that did not have it.
    LabelAdded {
        /// The vertex.
        vertex: VertexId,
        /// The label.
        label: String,
    },
    /// A label was removed from a vertex that had it.
    LabelRemoved {
        /// The vertex.
        vertex: VertexId,
        /// The label.
        label: String,
    },
    /// A vertex property was set (`new` is never `Null`) or removed (`new` is `Null`).
    VertexPropertySet {
        /// The vertex.
        vertex: VertexId,
        /// The key.
        key: String,
        /// The value before, if there was one.
        old: Option<PropertyValue>,
        /// The value after (`Null`: removed).
        new: PropertyValue,
    },
    /// An edge was created.
    EdgeCreated {
        /// The edge.
        edge: EdgeRecord,
        /// Its properties.
        properties: PropertyMap,
    },
    /// An edge was deleted (also by a detach delete of an endpoint); its properties
    /// just before.
    EdgeDeleted {
        /// The edge.
        edge: EdgeRecord,
        /// Its properties.
        properties: PropertyMap,
    },
    /// An edge property was set or removed (`new` is `Null`).
    EdgePropertySet {
        /// The edge.
        edge: EdgeId,
        /// The key.
        key: String,
        /// The value before, if there was one.
        old: Option<PropertyValue>,
        /// The value after (`Null`: removed).
        new: PropertyValue,
    },
}

/// The properties `create_*_with` leaves on a new object: a later pair of the same
/// key replaces an earlier one, `Null` removes it.
fn created_properties(properties: &[(&str, PropertyValue)]) -> PropertyMap {
    let mut map = PropertyMap::new();
    for (k, v) in properties {
        if v.is_null() {
            map.remove(*k);
        } else {
            map.insert((*k).into(), v.clone());
        }
    }
    map
}

impl Change {
    /// The change a backend reports for `create_vertex_with(labels, properties)`:
    /// each label once, in call order, and the properties the vertex ends up with.
    pub fn vertex_created(
        vertex: VertexId,
        labels: &[&str],
        properties: &[(&str, PropertyValue)],
    ) -> Change {
        let mut names: Vec<String> = Vec::with_capacity(labels.len());
        for l in labels {
            if !names.iter().any(|n| n == l) {
                names.push((*l).to_string());
            }
        }
        Change::VertexCreated {
            vertex,
            labels: names,
            properties: created_properties(properties),
        }
    }

    /// The change a backend reports for `create_edge_with(.., properties)`.
    pub fn edge_created(edge: EdgeRecord, properties: &[(&str, PropertyValue)]) -> Change {
        Change::EdgeCreated {
            edge,
            properties: created_properties(properties),
        }
    }

    /// True if a trigger listening for `event` fires on this change.
    pub fn fires(&self, event: TriggerEvent) -> bool {
        match event {
            TriggerEvent::Any => true,
            TriggerEvent::VertexCreate => matches!(self, Change::VertexCreated { .. }),
            TriggerEvent::EdgeCreate => matches!(self, Change::EdgeCreated { .. }),
            TriggerEvent::Delete => {
                matches!(
                    self,
                    Change::VertexDeleted { .. } | Change::EdgeDeleted { .. }
                )
            }
            TriggerEvent::Update => matches!(
                self,
                Change::LabelAdded { .. }
                    | Change::LabelRemoved { .. }
                    | Change::VertexPropertySet { .. }
                    | Change::EdgePropertySet { .. }
            ),
        }
    }
}

/// The changes of one transaction, in the order it made them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChangeSet {
    /// The commit timestamp; `None` for before-commit observers (not taken yet).
    pub commit_timestamp: Option<u64>,
    /// The changes.
    pub changes: Vec<Change>,
}

impl ChangeSet {
    /// True if a trigger listening for `event` fires on this transaction.
    pub fn fires(&self, event: TriggerEvent) -> bool {
        self.changes.iter().any(|c| c.fires(event))
    }
}

/// Receives committed transactions' change sets: the hook an embedder runs its
/// triggers from.
///
/// Registered with [`crate::StorageEngine::add_commit_observer`] for a phase:
/// - [`TriggerPhase::BeforeCommit`]: called in `commit` before the transaction is
///   checked and logged, on the committing thread. Returning an error vetoes the
///   commit: the transaction is rolled back and `commit` returns that error.
/// - [`TriggerPhase::AfterCommit`]: called once the commit is durable and visible to
///   transactions that begin afterwards, one transaction at a time in commit order,
///   before `commit` returns. Its result is ignored (the commit stands); errors are
///   logged.
///
/// An observer sees the transactions that began after it was registered and that
/// changed something. It must not begin a write transaction that waits for the
/// observed one, and a slow observer slows every commit after it.
pub trait CommitObserver: Send + Sync {
    /// Called with one transaction's changes.
    fn observe(&self, changes: &ChangeSet) -> Result<()>;
}

impl<F> CommitObserver for F
where
    F: Fn(&ChangeSet) -> Result<()> + Send + Sync,
{
    fn observe(&self, changes: &ChangeSet) -> Result<()> {
        self(changes)
    }
}

/// A shared observer, as registered.
pub type SharedObserver = Arc<dyn CommitObserver>;

/// Names a registered observer, for [`crate::StorageEngine::remove_commit_observer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObserverId(pub u64);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_index_is_named_by_its_kind_then_its_form() {
        let label = IndexSpec::Label("P".into());
        assert_eq!(label.named(), "index :`P`");
        let edge = IndexSpec::EdgeTypeProperty {
            edge_type: "KNOWS".into(),
            property: "since".into(),
        };
        assert_eq!(edge.named(), "edge index :`KNOWS`(`since`)");
        assert_eq!(edge.to_string(), "EDGE :`KNOWS`(`since`)");
    }

    #[test]
    fn property_rules_say_what_is_wrong() {
        let v = VertexId(7);
        let exists = ConstraintSpec::Exists {
            label: "L".into(),
            property: "p".into(),
        };
        assert!(exists.check_property(v, Some(&1.into())).is_ok());
        let e = exists.check_property(v, None).expect_err("missing");
        assert_eq!(e.kind(), ErrorKind::ConstraintViolation);
        assert!(
            e.message().contains("vertex 7: the property is missing"),
            "{e}"
        );
        let typed = ConstraintSpec::Type {
            label: "L".into(),
            property: "p".into(),
            value_type: ValueType::Int,
        };
        assert!(typed.check_property(v, None).is_ok(), "absent is allowed");
        assert!(typed.check_property(v, Some(&1.into())).is_ok());
        let e = typed
            .check_property(v, Some(&"x".into()))
            .expect_err("a string");
        assert!(e.message().contains("of type STRING"), "{e}");
        let unique = ConstraintSpec::Unique {
            label: "L".into(),
            properties: vec!["p".into()],
        };
        assert!(
            unique.check_property(v, None).is_ok(),
            "checked by the backends"
        );
        assert!(
            unique
                .duplicate(v, VertexId(3))
                .message()
                .contains("vertex 7: vertex 3 has the same values")
        );
    }

    #[test]
    fn the_longest_filtered_prefix_serves_a_lookup() {
        let a: &[u32] = &[1, 2, 3];
        let b: &[u32] = &[1, 2];
        let c: &[u32] = &[2, 1];
        let d: &[u32] = &[4];
        let all = [(a, 'a'), (b, 'b'), (c, 'c'), (d, 'd')];
        // (a: run 2, b: run 2, c: run 1): the first of the longest.
        assert_eq!(best_prefix_index(all, &[1, 2]), Some('a'));
        assert_eq!(best_prefix_index(all, &[3, 2, 1]), Some('a'));
        assert_eq!(
            best_prefix_index([(b, 'b'), (a, 'a')], &[1, 2, 3]),
            Some('a')
        );
        // A run only counts from the first property.
        assert_eq!(best_prefix_index(all, &[2]), Some('c'));
        assert_eq!(best_prefix_index([(a, 'a'), (b, 'b')], &[2, 3]), None);
        assert_eq!(best_prefix_index(all, &[4, 1]), Some('a'));
        assert_eq!(best_prefix_index(all, &[]), None);
    }
}
