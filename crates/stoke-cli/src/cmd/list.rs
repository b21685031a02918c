//! `stoke list`: the built-in recipes, bundled data sets and compiled-in backends.

use anyhow::Result;
use serde::Serialize;
use stoke_optim::Backend;
use stoke_recipes::Recipe;
use stoke_recipes::recipe::builtin_names;
use stoke_text::data::Bundled;

use crate::args::Common;
use crate::output;

/// What `stoke list --json` prints.
#[derive(Serialize)]
struct Listing {
    backends: Vec<&'static str>,
    datasets: Vec<&'static str>,
    default_backend: Option<&'static str>,
    recipes: Vec<RecipeName>,
}

#[derive(Serialize)]
struct RecipeName {
    name: String,
    title: String,
}

/// The surfaces recipe, which `stoke surfaces` runs rather than the recipe runner.
const SURFACES: &str = "surfaces";

pub fn run(c: &Common) -> Result<()> {
    let recipes = builtin_names()
        .into_iter()
        .map(|n| {
            Recipe::load(n).map(|r| RecipeName {
                name: n.to_string(),
                title: r.title,
            })
        })
        .collect::<Result<_, _>>()?;
    let mut listing = Listing {
        backends: Backend::compiled().iter().map(|b| b.name()).collect(),
        datasets: Bundled::all().iter().map(|b| b.name()).collect(),
        default_backend: Backend::default_cpu().map(|b| b.name()),
        recipes,
    };
    if c.json {
        listing.recipes.push(RecipeName {
            name: SURFACES.into(),
            title: "Optimizer paths on 2-D loss surfaces".into(),
        });
        return output::json(&listing);
    }
    output::line("recipes:");
    for r in &listing.recipes {
        output::line(&format!("  {:<14} {}", r.name, r.title));
    }
    output::line(&format!(
        "  {SURFACES:<14} Optimizer paths on 2-D loss surfaces (also `stoke surfaces`)"
    ));
    output::line("data sets:");
    for d in &listing.datasets {
        output::line(&format!("  {d}"));
    }
    output::line(&format!(
        "backends: {} (default: {})",
        listing.backends.join(", "),
        listing.default_backend.unwrap_or("none")
    ));
    Ok(())
}
