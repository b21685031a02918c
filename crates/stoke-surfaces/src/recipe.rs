//! The default run per surface (which optimizers, how many steps): the data file
//! `recipes/surfaces.toml`, and the options of one run.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use stoke_optim::{MomentumConfig, OptimizerConfig, OptimizerSpec};

use crate::error::SurfacesError;
use crate::racer::Racer;
use crate::surface::Surface;

/// The bundled default run, `recipes/surfaces.toml`.
pub const DEFAULT_RECIPE: &str = include_str!("../recipes/surfaces.toml");

/// The recipe as written: specs still text.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RecipeFile {
    surface: String,
    seed: u64,
    out: String,
    surfaces: BTreeMap<String, RunFile>,
    #[serde(default)]
    presets: BTreeMap<String, PresetFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RunFile {
    steps: usize,
    optimizers: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PresetFile {
    title: String,
    surface: String,
    steps: usize,
    optimizers: Vec<String>,
}

impl RunFile {
    fn parse(&self) -> Result<SurfaceRun, SurfacesError> {
        if self.steps == 0 {
            return Err(SurfacesError::ZeroSteps);
        }
        if self.optimizers.is_empty() {
            return Err(SurfacesError::NoOptimizers);
        }
        let optimizers = self
            .optimizers
            .iter()
            .map(|o| o.parse())
            .collect::<Result<_, _>>()?;
        Ok(SurfaceRun {
            steps: self.steps,
            optimizers,
        })
    }
}

/// The parsed surfaces recipe: a default surface and seed, and per surface the optimizers to
/// compare and the number of steps.
#[derive(Debug, Clone, PartialEq)]
pub struct SurfacesRecipe {
    /// The surface `stoke surfaces` shows without `--surface`.
    pub surface: Surface,
    /// Seed of the noisy quadratic's gradient noise.
    pub seed: u64,
    /// Where the outputs go without `--out`.
    pub out: PathBuf,
    /// Per surface: what to run.
    pub surfaces: BTreeMap<Surface, SurfaceRun>,
    /// Named comparisons beyond each surface's default (`[presets.NAME]`), e.g. `step-size`: a
    /// too-large α alone, clipped, and decayed.
    pub presets: BTreeMap<String, Preset>,
}

/// A named comparison: a surface and what to run on it.
#[derive(Debug, Clone, PartialEq)]
pub struct Preset {
    /// What it shows, one line.
    pub title: String,
    /// The surface.
    pub surface: Surface,
    /// The optimizers and steps.
    pub run: SurfaceRun,
}

/// One surface's default comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct SurfaceRun {
    /// Steps per optimizer (≥ 1).
    pub steps: usize,
    /// The optimizers, e.g. from `"momentum:lr=0.003,momentum=0.9"` (at least one).
    pub optimizers: Vec<Racer>,
}

impl SurfacesRecipe {
    /// Parses a recipe from TOML text (`origin` names it in errors), checking every surface
    /// name, optimizer and step count.
    pub fn parse(text: &str, origin: &str) -> Result<Self, SurfacesError> {
        let file: RecipeFile =
            toml::from_str(text).map_err(|source| SurfacesError::RecipeToml {
                path: origin.to_string(),
                source,
            })?;
        let bad = |key: String| {
            let path = origin.to_string();
            move |source| SurfacesError::Recipe {
                path,
                key,
                source: Box::new(source),
            }
        };
        let surface = file.surface.parse().map_err(bad("surface".into()))?;
        let mut surfaces = BTreeMap::new();
        for (name, run) in file.surfaces {
            let key = format!("surfaces.{name}");
            let check = || -> Result<(Surface, SurfaceRun), SurfacesError> {
                Ok((name.parse()?, run.parse()?))
            };
            let (surface, run) = check().map_err(bad(key))?;
            surfaces.insert(surface, run);
        }
        let mut presets = BTreeMap::new();
        for (name, preset) in file.presets {
            let key = format!("presets.{name}");
            let check = || -> Result<Preset, SurfacesError> {
                Ok(Preset {
                    title: preset.title.clone(),
                    surface: preset.surface.parse()?,
                    run: RunFile {
                        steps: preset.steps,
                        optimizers: preset.optimizers.clone(),
                    }
                    .parse()?,
                })
            };
            presets.insert(name.clone(), check().map_err(bad(key))?);
        }
        Ok(SurfacesRecipe {
            surface,
            seed: file.seed,
            out: PathBuf::from(file.out),
            surfaces,
            presets,
        })
    }

    /// Reads and parses a recipe file.
    pub fn load(path: &Path) -> Result<Self, SurfacesError> {
        let text = fs::read_to_string(path).map_err(|e| SurfacesError::io(path, e))?;
        Self::parse(&text, &path.display().to_string())
    }

    /// The bundled `recipes/surfaces.toml`.
    pub fn bundled() -> Self {
        // Checked by the unit test `bundled_recipe_parses_and_covers_every_surface`.
        Self::parse(DEFAULT_RECIPE, "recipes/surfaces.toml")
            .unwrap_or_else(|e| panic!("bundled recipe is invalid: {e}"))
    }

    /// The options of the preset `name` (its surface, optimizers and steps; the recipe's seed,
    /// and its output directory's subdirectory `name`), or an error listing the presets.
    pub fn options_for_preset(&self, name: &str) -> Result<SurfacesOptions, SurfacesError> {
        let preset = self
            .presets
            .get(name)
            .ok_or_else(|| SurfacesError::UnknownPreset {
                name: name.to_string(),
                known: self.presets.keys().cloned().collect::<Vec<_>>().join(", "),
            })?;
        Ok(SurfacesOptions {
            surface: preset.surface,
            optimizers: preset.run.optimizers.clone(),
            steps: preset.run.steps,
            seed: self.seed,
            out: self.out.join(name),
            page: true,
        })
    }

    /// The options for `surface` from this recipe (its optimizers and steps; the recipe's
    /// seed and output directory). A surface missing from the recipe gets plain gradient
    /// descent and momentum at η = 0.001 for 300 steps.
    pub fn options_for(&self, surface: Surface) -> SurfacesOptions {
        let run = self.surfaces.get(&surface).cloned().unwrap_or_else(|| {
            let at = |optimizer| Racer::new(OptimizerSpec::new(optimizer, 0.001));
            SurfaceRun {
                steps: 300,
                optimizers: vec![
                    at(OptimizerConfig::Sgd(MomentumConfig::sgd())),
                    at(OptimizerConfig::Momentum(MomentumConfig::new())),
                ],
            }
        });
        SurfacesOptions {
            surface,
            optimizers: run.optimizers,
            steps: run.steps,
            seed: self.seed,
            out: self.out.clone(),
            page: true,
        }
    }
}

/// What to run and where to write it.
#[derive(Debug, Clone, PartialEq)]
pub struct SurfacesOptions {
    /// The surface.
    pub surface: Surface,
    /// The optimizers compared, all from the surface's start point.
    pub optimizers: Vec<Racer>,
    /// Steps per optimizer (≥ 1).
    pub steps: usize,
    /// Seed of the noisy quadratic's gradient noise (the same for every optimizer).
    pub seed: u64,
    /// Output directory (created if missing).
    pub out: PathBuf,
    /// Also write the interactive page `surfaces.html` (a few seconds of precomputation).
    pub page: bool,
}

impl Default for SurfacesOptions {
    /// The bundled recipe's default surface (the quadratic) with its optimizers.
    fn default() -> Self {
        let recipe = SurfacesRecipe::bundled();
        recipe.options_for(recipe.surface)
    }
}

impl SurfacesOptions {
    /// The bundled recipe's run for `surface`.
    pub fn for_surface(surface: Surface) -> Self {
        SurfacesRecipe::bundled().options_for(surface)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_recipe_parses_and_covers_every_surface() {
        let r = SurfacesRecipe::parse(DEFAULT_RECIPE, "bundled").unwrap();
        for s in Surface::ALL {
            let o = r.options_for(s);
            assert!(r.surfaces.contains_key(&s), "{s} missing");
            assert!(!o.optimizers.is_empty() && o.steps > 0);
        }
        assert_eq!(SurfacesOptions::default().surface, Surface::Quadratic);
        let o = r.options_for_preset("step-size").unwrap();
        assert_eq!(o.surface, Surface::Quadratic);
        let e = r.options_for_preset("nope").unwrap_err().to_string();
        assert!(
            e.contains("unknown preset 'nope'") && e.contains("step-size"),
            "{e}"
        );
    }

    #[test]
    fn bad_recipes_are_reported() {
        let base = "surface = \"quadratic\"\nseed = 1\nout = \"o\"\n";
        for (extra, needle) in [
            (
                "[surfaces.cube]\nsteps = 5\noptimizers = [\"sgd:lr=0.1\"]\n",
                "unknown surface",
            ),
            (
                "[surfaces.beale]\nsteps = 0\noptimizers = [\"sgd:lr=0.1\"]\n",
                "steps",
            ),
            (
                "[surfaces.beale]\nsteps = 5\noptimizers = [\"newton:lr=0.1\"]\n",
                "newton",
            ),
            ("[surfaces.beale]\nsteps = 5\n", "optimizers"),
            (
                "[surfaces]\n[presets.p]\ntitle = \"t\"\nsurface = \"cube\"\nsteps = 5\noptimizers = [\"sgd:lr=0.1\"]\n",
                "presets.p: unknown surface",
            ),
            (
                "[surfaces]\n[presets.p]\ntitle = \"t\"\nsurface = \"beale\"\nsteps = 5\noptimizers = [\"sgd:lr=0.1,clip_norm=-1\"]\n",
                "clip_norm",
            ),
        ] {
            let e = SurfacesRecipe::parse(&format!("{base}{extra}"), "t")
                .unwrap_err()
                .to_string();
            assert!(e.contains(needle), "{extra}: {e}");
        }
    }
}
