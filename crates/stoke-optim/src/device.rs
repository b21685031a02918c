//! The one place that knows which Burn backends exist.
//!
//! Burn 0.22 has no backend type parameter: a backend is a runtime [`Device`]. Every other part
//! of stoke takes a `Device`; this module turns a backend name (`--backend flex`) into one, and
//! says which backends this build was compiled with (Cargo features `ndarray`, `flex`, `wgpu`).

use std::fmt;
use std::str::FromStr;

use burn::tensor::Device;

/// A Burn backend stoke can run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// `burn-ndarray` on the CPU (deprecated upstream in Burn 0.22, still supported).
    Ndarray,
    /// `burn-flex`, Burn 0.22's pure-Rust CPU backend.
    Flex,
    /// `wgpu` on a GPU, or on the CPU through a software Vulkan/GL driver (Mesa lavapipe).
    Wgpu,
}

/// A backend name that is unknown, or known but not compiled into this build.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackendError {
    /// Not a backend name.
    #[error("unknown backend '{name}'; known backends: ndarray, flex, wgpu")]
    Unknown {
        /// What was asked for.
        name: String,
    },
    /// A real backend, left out of this build.
    #[error(
        "backend '{backend}' is not compiled into this build (compiled in: {compiled}); rebuild with `--features {backend}`"
    )]
    NotCompiled {
        /// The backend asked for.
        backend: Backend,
        /// The backends that are available, comma-separated.
        compiled: String,
    },
}

impl Backend {
    /// Every backend stoke knows, compiled in or not.
    pub const ALL: [Backend; 3] = [Backend::Ndarray, Backend::Flex, Backend::Wgpu];

    /// The name used on the command line and in result files.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Ndarray => "ndarray",
            Backend::Flex => "flex",
            Backend::Wgpu => "wgpu",
        }
    }

    /// Whether this build includes the backend.
    pub fn is_compiled(self) -> bool {
        match self {
            Backend::Ndarray => cfg!(feature = "ndarray"),
            Backend::Flex => cfg!(feature = "flex"),
            Backend::Wgpu => cfg!(feature = "wgpu"),
        }
    }

    /// Whether the backend computes on the CPU with stoke's own in-process kernels.
    pub fn is_cpu(self) -> bool {
        !matches!(self, Backend::Wgpu)
    }

    /// The backends compiled into this build.
    pub fn compiled() -> Vec<Backend> {
        Self::ALL.into_iter().filter(|b| b.is_compiled()).collect()
    }

    /// The CPU backend used when none is named: `flex` when compiled in, else `ndarray`, else
    /// the first compiled-in backend.
    pub fn default_cpu() -> Option<Backend> {
        [Backend::Flex, Backend::Ndarray]
            .into_iter()
            .find(|b| b.is_compiled())
            .or_else(|| Self::compiled().first().copied())
    }

    /// The device of this backend (not autodiff; call `.autodiff()` to train on it).
    pub fn device(self) -> Result<Device, BackendError> {
        match self {
            #[cfg(feature = "ndarray")]
            #[allow(deprecated)]
            Backend::Ndarray => Ok(Device::ndarray()),
            #[cfg(feature = "flex")]
            Backend::Flex => Ok(Device::flex()),
            #[cfg(feature = "wgpu")]
            Backend::Wgpu => Ok(Device::wgpu(burn::tensor::DeviceKind::DefaultDevice)),
            #[allow(unreachable_patterns)]
            other => Err(BackendError::NotCompiled {
                backend: other,
                compiled: Self::compiled()
                    .iter()
                    .map(|b| b.name())
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Backend {
    type Err = BackendError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|b| b.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| BackendError::Unknown {
                name: s.to_string(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_list_the_known_ones() {
        for b in Backend::ALL {
            assert_eq!(b.name().parse::<Backend>().unwrap(), b);
        }
        let err = "tpu".parse::<Backend>().unwrap_err().to_string();
        assert!(
            err.contains("tpu") && err.contains("flex") && err.contains("wgpu"),
            "{err}"
        );
    }

    #[test]
    fn compiled_backends_give_devices_and_others_a_clear_error() {
        for b in Backend::ALL {
            match b.device() {
                Ok(_) => assert!(b.is_compiled()),
                Err(e) => {
                    assert!(!b.is_compiled());
                    assert!(e.to_string().contains("not compiled"), "{e}");
                }
            }
        }
    }
}
