// SPDX-License-Identifier: GPL-2.0

//! Stub of the IOMMU set-up of the Qualcomm iris video block, a user of the context device bus.
//!
//! Iris has three functional blocks, each with its own stream ID and its own IOVA window:
//!
//! | block | IOVA window      |
//! |-------|------------------|
//! | 0     | 600 MB – 3500 MB |
//! | 1     | 0 – 3500 MB      |
//! | 2     | 16 MB – 600 MB   |
//!
//! Block 0 must never see an IOVA below 600 MB: those reach a secure stream and take the SoC
//! down. The stub creates one context device per block, with its window, and holds them for as
//! long as it is bound. It drives no hardware: it binds to `test,iris-vpu-stub`, a compatible of
//! its own that stands for no real device.
//!
//! Both device-tree models are accepted:
//!
//! ```text
//! vpu-stub-map {
//!         compatible = "test,iris-vpu-stub";
//!         iommu-map = <0 &smmu 0x500 1>, <1 &smmu 0x501 1>, <2 &smmu 0x502 1>;
//! };
//!
//! vpu-stub-nodes {
//!         compatible = "test,iris-vpu-stub";
//!         #address-cells = <1>;
//!         #size-cells = <1>;
//!
//!         bank@0 {
//!                 reg = <0 1>;
//!                 iommus = <&smmu 0x510>;
//!                 iommu-ranges = <0x25800000 0xb5400000>;
//!         };
//!         bank@1 {
//!                 reg = <1 1>;
//!                 iommus = <&smmu 0x511>;
//!                 iommu-ranges = <0x0 0xdac00000>;
//!         };
//!         bank@2 {
//!                 reg = <2 1>;
//!                 iommus = <&smmu 0x512>;
//!                 iommu-ranges = <0x1000000 0x24800000>;
//!         };
//! };
//! ```
//!
//! With an `iommu-map` the function id is the block number and the stub gives each bank its
//! window. With child nodes it is their `reg` (its first cell), and a node's `iommu-ranges`, the
//! IOMMU core's own description of the IOVA a device may use, is the window: the stub then passes
//! none. A child without `iommu-ranges` gets its block's window from the stub, as with a map.

use core::ops::Range;
use kernel::{
    context_bus::{ContextDevice, Registration},
    device::{property::FwNode, Bound, Core, Device},
    dma::DmaMask,
    of, platform,
    prelude::*,
};

const MB: u64 = 1 << 20;

/// The IOVA window of each block, indexed by block number.
const WINDOWS: [Range<u64>; 3] = [600 * MB..3500 * MB, 0..3500 * MB, 16 * MB..600 * MB];

/// The context banks of one bound stub; dropping it destroys them.
struct IrisVpuStub {
    _banks: KVec<Registration>,
}

struct IrisVpuStubDriver;

kernel::of_device_table!(
    OF_TABLE,
    <IrisVpuStubDriver as platform::Driver>::IdInfo,
    [(of::DeviceId::new(c"test,iris-vpu-stub"), ())]
);

impl platform::Driver for IrisVpuStubDriver {
    type IdInfo = ();
    type Data<'bound> = IrisVpuStub;
    const OF_ID_TABLE: Option<of::IdTable<Self::IdInfo>> = Some(&OF_TABLE);

    fn probe<'bound>(
        pdev: &'bound platform::Device<Core<'_>>,
        _info: Option<&'bound Self::IdInfo>,
    ) -> impl PinInit<Self::Data<'bound>, Error> + 'bound {
        let dev: &'bound Device<Core<'_>> = pdev.as_ref();
        let node = dev.fwnode().ok_or(ENODEV)?;
        let banks = if node.property_present(c"iommu-map") {
            banks_from_map(dev, node)?
        } else {
            banks_from_children(dev, node)?
        };
        Ok(IrisVpuStub { _banks: banks })
    }
}

/// One bank per block, described by `node`'s `iommu-map` with the block as function id.
fn banks_from_map(dev: &Device<Bound>, node: &FwNode) -> Result<KVec<Registration>> {
    let mut banks = KVec::with_capacity(WINDOWS.len(), GFP_KERNEL)?;
    for (block, window) in (0u32..).zip(WINDOWS) {
        banks.push(create_bank(dev, node, block, Some(window))?, GFP_KERNEL)?;
    }
    Ok(banks)
}

/// One bank per child node with `iommus`, its `reg` the block.
fn banks_from_children(dev: &Device<Bound>, node: &FwNode) -> Result<KVec<Registration>> {
    let mut banks = KVec::with_capacity(WINDOWS.len(), GFP_KERNEL)?;
    for child in node.children() {
        let block: u32 = child.property_read(c"reg").required_by(dev)?;
        let Some(window) = WINDOWS.get(block as usize) else {
            dev_err!(
                dev,
                "bank {}: there are only {} blocks\n",
                block,
                WINDOWS.len()
            );
            return Err(EINVAL);
        };
        // The device tree's window, if it gives one, is the IOMMU core's to honour.
        let window = (!child.property_present(c"iommu-ranges")).then(|| window.clone());
        banks.push(create_bank(dev, &child, block, window)?, GFP_KERNEL)?;
    }
    if banks.len() != WINDOWS.len() {
        dev_err!(
            dev,
            "{} banks described, {} needed\n",
            banks.len(),
            WINDOWS.len()
        );
        return Err(EINVAL);
    }
    Ok(banks)
}

/// Creates the bank of `block`, with `window`, or with none where the node's `iommu-ranges` gives
/// it.
fn create_bank(
    dev: &Device<Bound>,
    node: &FwNode,
    block: u32,
    window: Option<Range<u64>>,
) -> Result<Registration> {
    let bank = ContextDevice::create(dev, node, block, DmaMask::new::<32>(), window.clone())?;
    let name = bank.as_ref().name();
    // A live context device is always in a group of its own.
    let group = bank.iommu_group_id().ok_or(ENODEV)?;
    match window {
        Some(window) => dev_info!(
            dev,
            "bank {}: fn_id {}, IOMMU group {}, IOVA window {:#x}-{:#x} ({} MB - {} MB)\n",
            name,
            block,
            group,
            window.start,
            window.end - 1,
            window.start / MB,
            window.end / MB
        ),
        None => dev_info!(
            dev,
            "bank {}: fn_id {}, IOMMU group {}, IOVA window from iommu-ranges\n",
            name,
            block,
            group
        ),
    }
    Ok(bank)
}

kernel::module_platform_driver! {
    type: IrisVpuStubDriver,
    name: "rust_iris_vpu_stub",
    authors: ["Context device bus developers"],
    description: "Stub of the iris video block's IOMMU context banks",
    license: "GPL v2",
}
