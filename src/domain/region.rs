//! The Region catalogue: every AWS Region hsm-kms knows, its partition, and whether it is
//! an opt-in Region (disabled unless enabled in the configuration).
//!
//! [`Region`] is the parsed form used everywhere inside the server; it can only be built
//! from a catalogue entry, so holding one means the name is a real Region.

use std::fmt;

/// An AWS partition: Regions only share multi-Region keys within one partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Partition {
    Aws,
    AwsCn,
    AwsUsGov,
}

impl Partition {
    /// The partition as it appears in ARNs.
    pub fn as_str(self) -> &'static str {
        match self {
            Partition::Aws => "aws",
            Partition::AwsCn => "aws-cn",
            Partition::AwsUsGov => "aws-us-gov",
        }
    }
}

/// One row of the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegionInfo {
    pub name: &'static str,
    pub partition: Partition,
    /// Opt-in Regions are disabled in an account until enabled.
    pub opt_in: bool,
}

const fn r(name: &'static str, partition: Partition, opt_in: bool) -> RegionInfo {
    RegionInfo {
        name,
        partition,
        opt_in,
    }
}

use Partition::{Aws, AwsCn, AwsUsGov};

/// Every Region hsm-kms knows.
pub const CATALOGUE: &[RegionInfo] = &[
    r("us-east-1", Aws, false),
    r("us-east-2", Aws, false),
    r("us-west-1", Aws, false),
    r("us-west-2", Aws, false),
    r("ca-central-1", Aws, false),
    r("ca-west-1", Aws, true),
    r("sa-east-1", Aws, false),
    r("mx-central-1", Aws, true),
    r("eu-west-1", Aws, false),
    r("eu-west-2", Aws, false),
    r("eu-west-3", Aws, false),
    r("eu-central-1", Aws, false),
    r("eu-central-2", Aws, true),
    r("eu-north-1", Aws, false),
    r("eu-south-1", Aws, true),
    r("eu-south-2", Aws, true),
    r("ap-northeast-1", Aws, false),
    r("ap-northeast-2", Aws, false),
    r("ap-northeast-3", Aws, false),
    r("ap-southeast-1", Aws, false),
    r("ap-southeast-2", Aws, false),
    r("ap-southeast-3", Aws, true),
    r("ap-southeast-4", Aws, true),
    r("ap-southeast-5", Aws, true),
    r("ap-south-1", Aws, false),
    r("ap-south-2", Aws, true),
    r("ap-east-1", Aws, true),
    r("me-south-1", Aws, true),
    r("me-central-1", Aws, true),
    r("il-central-1", Aws, true),
    r("af-south-1", Aws, true),
    r("cn-north-1", AwsCn, false),
    r("cn-northwest-1", AwsCn, false),
    r("us-gov-west-1", AwsUsGov, false),
    r("us-gov-east-1", AwsUsGov, false),
];

/// A Region from the catalogue.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Region(&'static str);

impl Region {
    /// Looks a Region name up in the catalogue.
    pub fn parse(name: &str) -> Option<Region> {
        CATALOGUE
            .iter()
            .find(|info| info.name == name)
            .map(|info| Region(info.name))
    }

    pub fn as_str(&self) -> &'static str {
        self.0
    }

    pub fn info(&self) -> RegionInfo {
        // A Region can only be built from a catalogue row.
        CATALOGUE
            .iter()
            .copied()
            .find(|info| info.name == self.0)
            .unwrap_or(r("unknown", Aws, false))
    }

    pub fn partition(&self) -> Partition {
        self.info().partition
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl fmt::Debug for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl serde::Serialize for Region {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Region {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Region::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("unknown Region {s}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn china_regions_are_in_their_own_partition() {
        let cn = Region::parse("cn-north-1").expect("in catalogue");
        assert_eq!(cn.partition(), Partition::AwsCn);
        assert_eq!(cn.partition().as_str(), "aws-cn");
        let us = Region::parse("us-east-1").expect("in catalogue");
        assert_eq!(us.partition(), Partition::Aws);
    }

    #[test]
    fn unknown_region_is_rejected() {
        assert!(Region::parse("mars-north-1").is_none());
    }

    #[test]
    fn catalogue_names_are_unique() {
        for (i, a) in CATALOGUE.iter().enumerate() {
            for b in &CATALOGUE[i + 1..] {
                assert_ne!(a.name, b.name);
            }
        }
    }
}
