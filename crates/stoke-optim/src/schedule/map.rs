//! The text form of a schedule: a flat map `{ kind = "cosine", warmup_steps = 100 }`, read field
//! by field so that every error names its field.

use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use super::{OneCycleConfig, PlateauConfig, Schedule, ScheduleError};
use crate::spec::plain;

/// Every kind's name, in table order.
pub(super) fn kinds() -> impl Iterator<Item = &'static str> {
    TABLE.iter().map(|(kind, _)| *kind)
}

type Reader = fn(&mut Fields) -> Result<Schedule, ScheduleError>;

/// The one table of schedule kinds: each name with the reader of its fields and their defaults.
const TABLE: [(&str, Reader); 6] = [
    ("constant", |_| Ok(Schedule::Constant)),
    ("step", |f| {
        Ok(Schedule::Step {
            step_size: f.required("step_size")?,
            gamma: f.or("gamma", 0.1)?,
        })
    }),
    ("exponential", |f| {
        Ok(Schedule::Exponential {
            gamma: f.required("gamma")?,
        })
    }),
    ("cosine", |f| {
        Ok(Schedule::Cosine {
            warmup_steps: f.or("warmup_steps", 0)?,
            min_lr: f.or("min_lr", 0.0)?,
        })
    }),
    ("one-cycle", |f| {
        Ok(Schedule::OneCycle {
            total_steps: f.take("total_steps")?,
            cycle: f.overlay(OneCycleConfig::new())?,
        })
    }),
    ("plateau", |f| {
        Ok(Schedule::Plateau(f.overlay(PlateauConfig::new())?))
    }),
];

/// The fields of one schedule kind, consumed as its reader asks for them.
struct Fields {
    kind: &'static str,
    given: Map<String, Value>,
    known: Vec<String>,
    defaults: Map<String, Value>,
}

impl Fields {
    fn new(kind: &'static str, given: Map<String, Value>) -> Self {
        Self {
            kind,
            given,
            known: Vec::new(),
            defaults: Map::new(),
        }
    }

    fn bad(&self, field: &str, value: &Value, source: serde_json::Error) -> ScheduleError {
        ScheduleError::BadValue {
            kind: self.kind,
            field: field.to_string(),
            value: value.to_string(),
            source,
        }
    }

    /// `field` if given.
    fn take<T: DeserializeOwned>(&mut self, field: &str) -> Result<Option<T>, ScheduleError> {
        self.known.push(field.to_string());
        let Some(value) = self.given.remove(field) else {
            return Ok(None);
        };
        serde_json::from_value(whole(&value))
            .map(Some)
            .map_err(|source| self.bad(field, &value, source))
    }

    /// `field` if given, else `default`.
    fn or<T: DeserializeOwned + Serialize>(
        &mut self,
        field: &str,
        default: T,
    ) -> Result<T, ScheduleError> {
        if let Ok(v) = serde_json::to_value(&default) {
            self.defaults.insert(field.to_string(), v);
        }
        Ok(self.take(field)?.unwrap_or(default))
    }

    /// `field`, which this kind cannot do without.
    fn required<T: DeserializeOwned>(&mut self, field: &'static str) -> Result<T, ScheduleError> {
        let kind = self.kind;
        self.take(field)?
            .ok_or(ScheduleError::Missing { kind, field })
    }

    /// Every field of config `C` that is given, laid over `defaults` one at a time (so that a
    /// value of the wrong type is named).
    fn overlay<C: Serialize + DeserializeOwned>(
        &mut self,
        defaults: C,
    ) -> Result<C, ScheduleError> {
        let mut all = object(&defaults);
        let mut config = defaults;
        for (field, default) in all.clone() {
            self.known.push(field.clone());
            self.defaults.insert(field.clone(), default);
            if let Some(value) = self.given.remove(&field) {
                all.insert(field.clone(), whole(&value));
                config = serde_json::from_value(Value::Object(all.clone()))
                    .map_err(|source| self.bad(&field, &value, source))?;
            }
        }
        Ok(config)
    }

    /// The defaults of the fields read, or the first field given that the kind does not have.
    fn finish(self) -> Result<Map<String, Value>, ScheduleError> {
        match self.given.into_iter().next() {
            None => Ok(self.defaults),
            Some((field, _)) => Err(ScheduleError::UnknownField {
                kind: self.kind,
                field,
                known: if self.known.is_empty() {
                    "none".into()
                } else {
                    self.known.join(", ")
                },
            }),
        }
    }
}

/// A float that is a whole number ≥ 0, as an integer: the shorthand reads every number as a
/// float, and a step count must still accept `100`.
fn whole(v: &Value) -> Value {
    match v.as_f64() {
        Some(x)
            if v.is_f64() && x.fract() == 0.0 && (0.0..=9.007_199_254_740_992e15).contains(&x) =>
        {
            Value::from(x as u64)
        }
        _ => v.clone(),
    }
}

/// Reads `given` as the fields of `kind`: the schedule and the defaults of the fields read.
fn read(
    kind: &str,
    given: Map<String, Value>,
) -> Result<(Schedule, Map<String, Value>), ScheduleError> {
    let (kind, reader) =
        TABLE
            .iter()
            .find(|(k, _)| *k == kind)
            .ok_or_else(|| ScheduleError::UnknownKind {
                kind: kind.to_string(),
                known: kinds().collect::<Vec<_>>().join(", "),
            })?;
    let mut fields = Fields::new(kind, given);
    let schedule = reader(&mut fields)?;
    Ok((schedule, fields.finish()?))
}

/// `C`'s fields in serde form.
fn object(config: &impl Serialize) -> Map<String, Value> {
    match serde_json::to_value(config) {
        Ok(Value::Object(fields)) => fields,
        _ => unreachable!("a config serialises to a map"),
    }
}

impl Schedule {
    /// The schedule from its flat map: `kind` and the kind's fields over their defaults, e.g.
    /// `{ kind = "one-cycle", total_steps = 1000, pct_start = 0.25 }`. An unknown kind or
    /// field, a missing required field and a value of the wrong type are errors naming it;
    /// ranges are checked by [`validate`](Self::validate) and [`build`](Self::build), which
    /// know the base rate and the run's length.
    pub fn from_map(mut map: Map<String, Value>) -> Result<Self, ScheduleError> {
        match map.remove("kind") {
            Some(Value::String(kind)) => Ok(read(&kind, map)?.0),
            other => Err(ScheduleError::NoKind {
                found: other.map_or("nothing".into(), |v| v.to_string()),
            }),
        }
    }

    /// A kind's name (`"cosine"`, its defaults) or a flat map with `kind`.
    pub fn from_value(value: Value) -> Result<Self, ScheduleError> {
        match value {
            Value::String(kind) => Ok(read(&kind, Map::new())?.0),
            Value::Object(map) => Self::from_map(map),
            other => Err(ScheduleError::NoKind {
                found: other.to_string(),
            }),
        }
    }

    /// The flat map: `kind`, then every field (`total_steps` only when set).
    pub fn to_map(&self) -> Map<String, Value> {
        let mut map = Map::new();
        map.insert("kind".into(), Value::from(self.kind()));
        map.extend(self.fields());
        map
    }

    fn fields(&self) -> Map<String, Value> {
        let pairs: Vec<(&str, Value)> = match self {
            Self::Constant => vec![],
            Self::Step { step_size, gamma } => {
                vec![
                    ("step_size", (*step_size).into()),
                    ("gamma", (*gamma).into()),
                ]
            }
            Self::Exponential { gamma } => vec![("gamma", (*gamma).into())],
            Self::Cosine {
                warmup_steps,
                min_lr,
            } => vec![
                ("warmup_steps", (*warmup_steps).into()),
                ("min_lr", (*min_lr).into()),
            ],
            Self::OneCycle { total_steps, cycle } => {
                let mut map = object(cycle);
                if let Some(t) = total_steps {
                    map.insert("total_steps".into(), (*t).into());
                }
                return map;
            }
            Self::Plateau(c) => return object(c),
        };
        pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
    }

    /// The kind and every field that differs from its default, e.g. `cosine(warmup_steps=100)`,
    /// or the kind alone, e.g. `one-cycle`.
    pub fn label(&self) -> String {
        let fields = self.fields();
        let defaults = read(self.kind(), fields.clone())
            .map(|(_, d)| d)
            .unwrap_or_default();
        let parts: Vec<String> = fields
            .iter()
            .filter(|(field, value)| defaults.get(*field) != Some(value))
            .map(|(field, value)| format!("{field}={}", plain(value)))
            .collect();
        if parts.is_empty() {
            self.kind().to_string()
        } else {
            format!("{}({})", self.kind(), parts.join(", "))
        }
    }

    /// The schedule inside an optimizer's flat map: `schedule` (a kind's name or a map with
    /// `kind`), with any `schedule.FIELD` keys laid over it; both are removed from `map`.
    /// Neither given: [`Schedule::Constant`].
    pub(crate) fn take_from(map: &mut Map<String, Value>) -> Result<Self, ScheduleError> {
        let mut fields = match map.remove("schedule") {
            None => Map::new(),
            Some(Value::String(kind)) => {
                Map::from_iter([("kind".to_string(), Value::String(kind))])
            }
            Some(Value::Object(fields)) => fields,
            Some(other) => {
                return Err(ScheduleError::NoKind {
                    found: other.to_string(),
                });
            }
        };
        let dotted: Vec<String> = map
            .keys()
            .filter(|k| k.starts_with("schedule."))
            .cloned()
            .collect();
        for key in dotted {
            if let Some(value) = map.remove(&key) {
                fields.insert(key["schedule.".len()..].to_string(), value);
            }
        }
        if fields.is_empty() {
            return Ok(Self::Constant);
        }
        Self::from_map(fields)
    }
}

impl Serialize for Schedule {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_map().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Schedule {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Self::from_value(Value::deserialize(deserializer)?).map_err(D::Error::custom)
    }
}
