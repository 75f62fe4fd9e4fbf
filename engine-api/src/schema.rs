//! Definitions of indexes, constraints and triggers (schema operations run outside
//! user transactions).

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

/// An index and its size, as listed by [`crate::StorageEngine::indexes`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexInfo {
    /// The definition.
    pub spec: IndexSpec,
    /// The number of entries.
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

/// A stored trigger: the engine keeps it in its catalogue; an embedder runs it.
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
