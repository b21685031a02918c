//! `--set KEY=VALUE` fields, and the optimizer a command line describes.

use anyhow::{Result, anyhow};
use stoke_recipes::OptimizerSpec;

/// `--set` fields sorted by what they set: `model.F`, `tokenizer.F`, else the optimizer's `KEY`.
#[derive(Debug, Default, PartialEq)]
pub struct Sets {
    pub optimizer: toml::Table,
    pub model: toml::Table,
    pub tokenizer: toml::Table,
}

impl Sets {
    /// Reads `KEY=VALUE` arguments; values as [`parse_value`] reads them.
    pub fn parse(args: &[String]) -> Result<Self> {
        let mut sets = Sets::default();
        for kv in args {
            let (k, v) = kv
                .split_once('=')
                .ok_or_else(|| anyhow!("--set {kv}: expected KEY=VALUE"))?;
            let (table, key) = match k.split_once('.') {
                Some(("model", f)) => (&mut sets.model, f),
                Some(("tokenizer", f)) => (&mut sets.tokenizer, f),
                _ => (&mut sets.optimizer, k),
            };
            table.insert(key.to_string(), parse_value(v));
        }
        Ok(sets)
    }
}

/// The optimizer `name` at learning rate `lr` with `fields` laid over its defaults, checked.
/// Every command that reads an optimizer from flags builds it here.
pub fn optimizer(name: &str, lr: f64, fields: &toml::Table) -> Result<OptimizerSpec> {
    let mut map = serde_json::Map::new();
    map.insert("name".into(), name.into());
    map.insert("lr".into(), lr.into());
    for (k, v) in fields {
        map.insert(k.clone(), serde_json::to_value(v)?);
    }
    // The message already names the field and the rule (and its cause).
    OptimizerSpec::from_map(map).map_err(|e| anyhow!("--optimizer/--set: {e}"))
}

/// A `--set` value: any TOML value (`0.9`, `true`, `"text"`, `[1, 2]`,
/// `{ kind = "hashing", buckets = 16384 }`), else a number Rust reads (`.5`), else the text
/// itself as a string (`adam`).
pub fn parse_value(v: &str) -> toml::Value {
    match toml::from_str::<toml::Table>(&format!("v = {v}")) {
        // Internal invariant: the guard checked that the table holds exactly the key `v`.
        Ok(mut t) if t.len() == 1 => t.remove("v").expect("the one key"),
        _ => v
            .parse::<f64>()
            .map(toml::Value::Float)
            .unwrap_or_else(|_| toml::Value::String(v.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::{Sets, parse_value};
    use toml::Value;

    #[test]
    fn set_values_are_toml_or_plain_strings() {
        assert_eq!(parse_value("0.9"), Value::Float(0.9));
        assert_eq!(parse_value("1e-5"), Value::Float(1e-5));
        assert_eq!(parse_value("3"), Value::Integer(3));
        assert_eq!(parse_value(".5"), Value::Float(0.5));
        assert_eq!(parse_value("false"), Value::Boolean(false));
        assert_eq!(parse_value("adam"), Value::String("adam".into()));
        assert_eq!(parse_value("\"a b\""), Value::String("a b".into()));
        let table = parse_value("{ kind = \"hashing\", buckets = 16384 }");
        assert_eq!(table["kind"], Value::String("hashing".into()));
        assert_eq!(table["buckets"], Value::Integer(16384));
        // Not a single TOML value: kept as written.
        assert_eq!(parse_value("a = 1"), Value::String("a = 1".into()));
    }

    #[test]
    fn set_keys_go_to_the_model_the_tokenizer_or_the_optimizer() {
        let args = [
            "momentum=0.9",
            "model.dropout=0.5",
            "tokenizer.char_max_n=3",
        ];
        let sets = Sets::parse(&args.map(String::from)).unwrap();
        assert_eq!(sets.optimizer["momentum"], Value::Float(0.9));
        assert_eq!(sets.model["dropout"], Value::Float(0.5));
        assert_eq!(sets.tokenizer["char_max_n"], Value::Integer(3));
        assert_eq!(
            (sets.optimizer.len(), sets.model.len(), sets.tokenizer.len()),
            (1, 1, 1)
        );
        let err = Sets::parse(&["momentum".to_string()]).unwrap_err();
        assert!(err.to_string().contains("expected KEY=VALUE"), "{err}");
    }
}
