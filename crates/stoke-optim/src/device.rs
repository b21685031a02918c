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

/// One device of a backend, as `--devices` and a recipe's `devices` name it: `flex`, `ndarray`,
/// `wgpu` (= `wgpu:default`), `wgpu:cpu` (a software adapter such as Mesa's lavapipe),
/// `wgpu:discrete:N`, `wgpu:integrated:N`, `wgpu:virtual:N` (the N-th adapter of that kind).
/// Two names are two devices to Burn exactly when they differ: `wgpu:cpu` and `wgpu:default`
/// are two devices (two compute servers) even on a machine whose only adapter is lavapipe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum DeviceName {
    /// The ndarray CPU device (there is one).
    Ndarray,
    /// The flex CPU device (there is one).
    Flex,
    /// A wgpu adapter.
    Wgpu(WgpuAdapter),
}

/// Which wgpu adapter a [`DeviceName::Wgpu`] names (Burn's `DeviceKind`, without `Existing`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WgpuAdapter {
    /// The best adapter wgpu finds (`CUBECL_WGPU_DEFAULT_DEVICE` overrides it).
    Default,
    /// A CPU (software) adapter.
    Cpu,
    /// The N-th discrete GPU.
    Discrete(usize),
    /// The N-th integrated GPU.
    Integrated(usize),
    /// The N-th virtual GPU.
    Virtual(usize),
}

/// A device name that does not parse, or names a backend this build lacks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeviceNameError {
    /// Not a device name.
    #[error(
        "unknown device '{name}'; devices are flex, ndarray, wgpu, wgpu:default, wgpu:cpu, \
         wgpu:discrete:N, wgpu:integrated:N, wgpu:virtual:N"
    )]
    Unknown {
        /// What was asked for.
        name: String,
    },
    /// A known device of a backend left out of this build.
    #[error("device '{name}': {source}")]
    Backend {
        /// The device asked for.
        name: DeviceName,
        #[source]
        source: BackendError,
    },
}

impl DeviceName {
    /// The backend the device belongs to.
    pub fn backend(self) -> Backend {
        match self {
            DeviceName::Ndarray => Backend::Ndarray,
            DeviceName::Flex => Backend::Flex,
            DeviceName::Wgpu(_) => Backend::Wgpu,
        }
    }

    /// The Burn device (not autodiff).
    pub fn device(self) -> Result<Device, DeviceNameError> {
        let fail = |source| DeviceNameError::Backend { name: self, source };
        match self {
            #[cfg(feature = "wgpu")]
            DeviceName::Wgpu(adapter) => {
                use burn::tensor::DeviceKind;
                let kind = match adapter {
                    WgpuAdapter::Default => DeviceKind::DefaultDevice,
                    WgpuAdapter::Cpu => DeviceKind::Cpu,
                    WgpuAdapter::Discrete(n) => DeviceKind::DiscreteGpu(n),
                    WgpuAdapter::Integrated(n) => DeviceKind::IntegratedGpu(n),
                    WgpuAdapter::Virtual(n) => DeviceKind::VirtualGpu(n),
                };
                Ok(Device::wgpu(kind))
            }
            other => other.backend().device().map_err(fail),
        }
    }
}

impl fmt::Display for DeviceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceName::Ndarray => f.write_str("ndarray"),
            DeviceName::Flex => f.write_str("flex"),
            DeviceName::Wgpu(WgpuAdapter::Default) => f.write_str("wgpu:default"),
            DeviceName::Wgpu(WgpuAdapter::Cpu) => f.write_str("wgpu:cpu"),
            DeviceName::Wgpu(WgpuAdapter::Discrete(n)) => write!(f, "wgpu:discrete:{n}"),
            DeviceName::Wgpu(WgpuAdapter::Integrated(n)) => write!(f, "wgpu:integrated:{n}"),
            DeviceName::Wgpu(WgpuAdapter::Virtual(n)) => write!(f, "wgpu:virtual:{n}"),
        }
    }
}

impl FromStr for DeviceName {
    type Err = DeviceNameError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let unknown = || DeviceNameError::Unknown {
            name: s.to_string(),
        };
        let lower = s.trim().to_ascii_lowercase();
        let parts: Vec<&str> = lower.split(':').collect();
        let index = |i: &str| i.parse::<usize>().map_err(|_| unknown());
        Ok(match parts.as_slice() {
            ["ndarray"] => DeviceName::Ndarray,
            ["flex"] => DeviceName::Flex,
            ["wgpu"] | ["wgpu", "default"] => DeviceName::Wgpu(WgpuAdapter::Default),
            ["wgpu", "cpu"] => DeviceName::Wgpu(WgpuAdapter::Cpu),
            ["wgpu", "discrete", i] => DeviceName::Wgpu(WgpuAdapter::Discrete(index(i)?)),
            ["wgpu", "integrated", i] => DeviceName::Wgpu(WgpuAdapter::Integrated(index(i)?)),
            ["wgpu", "virtual", i] => DeviceName::Wgpu(WgpuAdapter::Virtual(index(i)?)),
            _ => return Err(unknown()),
        })
    }
}

impl From<DeviceName> for String {
    fn from(d: DeviceName) -> String {
        d.to_string()
    }
}

impl TryFrom<String> for DeviceName {
    type Error = DeviceNameError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
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
    fn device_names_round_trip_and_an_unknown_one_is_named() {
        for name in [
            "flex",
            "ndarray",
            "wgpu:default",
            "wgpu:cpu",
            "wgpu:discrete:1",
            "wgpu:integrated:0",
            "wgpu:virtual:2",
        ] {
            assert_eq!(name.parse::<DeviceName>().unwrap().to_string(), name);
        }
        assert_eq!(
            "wgpu".parse::<DeviceName>().unwrap(),
            DeviceName::Wgpu(WgpuAdapter::Default)
        );
        for bad in ["tpu", "wgpu:discrete", "wgpu:discrete:x", "flex:0"] {
            let err = bad.parse::<DeviceName>().unwrap_err().to_string();
            assert!(
                err.contains(&format!("'{bad}'")) && err.contains("wgpu:cpu"),
                "{err}"
            );
        }
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
