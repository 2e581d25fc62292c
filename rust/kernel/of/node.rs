// SPDX-License-Identifier: GPL-2.0

//! Device tree nodes.
//!
//! C header: [`include/linux/of.h`](srctree/include/linux/of.h)

use crate::{
    bindings,
    device::property::FwNode,
    error::to_result,
    prelude::*,
    sync::aref::{ARef, AlwaysRefCounted},
    types::Opaque,
};
use core::ptr::{self, NonNull};

/// A device tree node, `struct device_node`.
///
/// A `&Node` is a node whose reference count the holder keeps above zero for the lifetime of
/// the reference; [`ARef<Node>`] owns one reference of its own (`of_node_get()`, dropped with
/// `of_node_put()`).
///
/// # Invariants
///
/// A `Node` is always embedded in a valid `struct device_node`, whose reference count is
/// non-zero for as long as the `Node` is reachable.
///
/// # Examples
///
/// ```
/// use kernel::{of, prelude::*};
///
/// // The root node exists on every device tree system; QEMU's `virt` machine has a PCIe host.
/// if let Some(np) = of::Node::find_compatible(c"pci-host-ecam-generic") {
///     assert!(np.property_present(c"compatible"));
///     assert!(!np.property_present(c"no-such-property"));
///     let again = np.clone();
///     assert_eq!(again.as_raw(), np.as_raw());
///     // The node is also a firmware node.
///     assert!(np.fwnode().is_of_node());
///     assert_eq!(of::Node::from_fwnode(np.fwnode()).map(|n| n.as_raw()), Some(np.as_raw()));
/// }
/// ```
#[repr(transparent)]
pub struct Node(Opaque<bindings::device_node>);

impl Node {
    /// Returns a reference to the node behind `ptr`.
    ///
    /// # Safety
    ///
    /// `ptr` must point to a valid `struct device_node` whose reference count stays above zero
    /// for the lifetime `'a`.
    #[inline]
    pub unsafe fn from_raw<'a>(ptr: *mut bindings::device_node) -> &'a Self {
        // SAFETY: `Node` is a transparent wrapper of `struct device_node`; the pointee is valid
        // and referenced for `'a` (caller).
        unsafe { &*ptr.cast::<Self>() }
    }

    /// Returns the raw `struct device_node` pointer.
    #[inline]
    pub fn as_raw(&self) -> *mut bindings::device_node {
        self.0.get()
    }

    /// Finds the first node compatible with `compatible` in the whole tree.
    pub fn find_compatible(compatible: &CStr) -> Option<ARef<Self>> {
        // SAFETY: A NULL `from` starts from the root and a NULL type matches any; the string is
        // NUL-terminated. The returned node, if any, is referenced for us.
        let np = unsafe {
            bindings::of_find_compatible_node(
                ptr::null_mut(),
                ptr::null(),
                compatible.as_char_ptr(),
            )
        };
        // INVARIANT: `of_find_compatible_node()` returns a referenced node, or NULL.
        // SAFETY: The reference taken by `of_find_compatible_node()` is handed to the `ARef`.
        NonNull::new(np).map(|np| unsafe { ARef::from_raw(np.cast()) })
    }

    /// Returns the node as a firmware node.
    #[inline]
    pub fn fwnode(&self) -> &FwNode {
        // SAFETY: By the type invariant `self.as_raw()` is valid; `fwnode` is a field of it.
        let fwnode = unsafe { &raw mut (*self.as_raw()).fwnode };
        // SAFETY: `FwNode` is a transparent wrapper of `struct fwnode_handle`; the handle lives
        // as long as the node, which is referenced for the lifetime of `&self`.
        unsafe { &*fwnode.cast::<FwNode>() }
    }

    /// Returns the device tree node `fwnode` is embedded in, or `None` if it is not an OF node.
    pub fn from_fwnode(fwnode: &FwNode) -> Option<&Self> {
        if !fwnode.is_of_node() {
            return None;
        }
        // SAFETY: An OF firmware node is the `fwnode` field of a `struct device_node`.
        let np = unsafe { crate::container_of!(fwnode.as_raw(), bindings::device_node, fwnode) };
        // SAFETY: The node lives as long as its firmware node, which is referenced for the
        // lifetime of `&fwnode`.
        Some(unsafe { Self::from_raw(np) })
    }

    /// Returns whether the node has the property `name` (`of_property_present()`).
    pub fn property_present(&self, name: &CStr) -> bool {
        self.fwnode().property_present(name)
    }

    /// Translates the function id `id` through the node's `iommu-map` (`of_map_iommu_id()`).
    ///
    /// Returns what `id` translates to, the IOMMU node and its specifier ([`IommuSpecifier`]);
    /// `None` if the map does not cover `id` (a node without `iommu-map` covers none). Fails if
    /// the map cannot be read: `ENODEV` for a phandle that names no node, `EFAULT` for an id
    /// outside the map mask, as `of_map_id()` does.
    ///
    /// # Examples
    ///
    /// ```
    /// use kernel::{of, prelude::*};
    ///
    /// // QEMU `virt`'s PCIe host maps each requester ID to the SMMU stream of the same number.
    /// if let Some(np) = of::Node::find_compatible(c"pci-host-ecam-generic") {
    ///     if np.property_present(c"iommu-map") {
    ///         let spec = np.map_iommu_id(0x300)?.ok_or(ENODEV)?;
    ///         assert!(spec.iommu().property_present(c"#iommu-cells"));
    ///         assert_eq!(spec.args(), &[0x300]);
    ///     }
    /// }
    /// # Ok::<(), Error>(())
    /// ```
    pub fn map_iommu_id(&self, id: u32) -> Result<Option<IommuSpecifier>> {
        let mut args: bindings::of_phandle_args = pin_init::zeroed();
        // SAFETY: `self.as_raw()` is a valid node and `args` a valid result buffer.
        to_result(unsafe { bindings::of_map_iommu_id(self.as_raw(), id, &mut args) })?;
        let Some(np) = NonNull::new(core::mem::replace(&mut args.np, ptr::null_mut())) else {
            return Ok(None);
        };
        // INVARIANT: On success `of_map_iommu_id()` returns the IOMMU node referenced.
        // SAFETY: The reference it took is handed to the `ARef`.
        let iommu = unsafe { ARef::<Node>::from_raw(np.cast()) };
        // `of_map_id()` gives as many cells as the IOMMU's `#iommu-cells`, at most all of them.
        let count = usize::try_from(args.args_count)
            .unwrap_or(0)
            .min(args.args.len());
        Ok(Some(IommuSpecifier {
            iommu,
            args: args.args,
            count,
        }))
    }

    /// Returns the IOVA ranges of the node's `iommu-ranges`, sorted by address
    /// (`of_iommu_get_ranges()`): the IOMMU core reserves every IOVA outside them.
    ///
    /// Empty for a node without the property. Fails as `of_iommu_get_ranges()` does: `EINVAL`
    /// for a property that is not a whole number of entries, cells that cannot hold 64-bit
    /// values, an empty range or two that overlap; `EOVERFLOW` for a range that runs past 2^64.
    ///
    /// # Examples
    ///
    /// ```
    /// use kernel::{of, prelude::*};
    ///
    /// // QEMU `virt`'s PCIe host has no `iommu-ranges`: all of its IOVA space is usable.
    /// if let Some(np) = of::Node::find_compatible(c"pci-host-ecam-generic") {
    ///     assert!(np.iommu_ranges()?.is_empty());
    /// }
    /// # Ok::<(), Error>(())
    /// ```
    #[cfg(CONFIG_OF_IOMMU)]
    pub fn iommu_ranges(&self) -> Result<KVec<core::ops::RangeInclusive<u64>>> {
        // SAFETY: `self.as_raw()` is a valid node; with no buffer the call only counts.
        let n = unsafe { bindings::of_iommu_get_ranges(self.as_raw(), ptr::null_mut(), 0) };
        to_result(n)?;
        let n = n as usize;
        let mut raw = KVec::<bindings::of_iommu_range>::with_capacity(n, GFP_KERNEL)?;
        // SAFETY: `raw` has room for `n` ranges, as the call is told.
        let got =
            unsafe { bindings::of_iommu_get_ranges(self.as_raw(), raw.as_mut_ptr(), n as u32) };
        // A property that grew since it was counted fails with `E2BIG`.
        to_result(got)?;
        // SAFETY: The call wrote `got` ranges, at most `n`, at the start of `raw`.
        unsafe { raw.inc_len(got as usize) };
        let mut ranges = KVec::with_capacity(raw.len(), GFP_KERNEL)?;
        for range in &raw {
            ranges.push(range.start..=range.last, GFP_KERNEL)?;
        }
        Ok(ranges)
    }
}

// SAFETY: Instances of `Node` are always reference-counted (type invariant).
unsafe impl AlwaysRefCounted for Node {
    fn inc_ref(&self) {
        // SAFETY: The existence of a shared reference means that the refcount is non-zero.
        unsafe { bindings::of_node_get(self.as_raw()) };
    }

    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: The safety requirements guarantee that the refcount is non-zero.
        unsafe { bindings::of_node_put(obj.cast().as_ptr()) }
    }
}

// SAFETY: A node's reference count is atomic and its properties are read under the OF core's
// own locks, so a `Node` may be used and dropped from any thread.
unsafe impl Send for Node {}

// SAFETY: As for `Send`: every method takes `&self` and is safe to call concurrently.
unsafe impl Sync for Node {}

/// What an id translates to through an `iommu-map` ([`Node::map_iommu_id`]): the IOMMU's node and
/// the specifier's cells, as many as the IOMMU's `#iommu-cells`.
///
/// # Examples
///
/// ```
/// use kernel::{of::IommuSpecifier, prelude::*};
///
/// // An IOMMU with `#iommu-cells = <1>`, such as an SMMUv3, takes the stream ID alone.
/// fn stream_id(spec: &IommuSpecifier) -> Result<u32> {
///     match spec.args() {
///         [sid] => Ok(*sid),
///         _ => Err(EINVAL),
///     }
/// }
/// # let _ = stream_id;
/// ```
///
/// # Invariants
///
/// `count <= args.len()`.
pub struct IommuSpecifier {
    iommu: ARef<Node>,
    args: [u32; bindings::MAX_PHANDLE_ARGS as usize],
    count: usize,
}

impl IommuSpecifier {
    /// Returns the IOMMU's node.
    #[inline]
    pub fn iommu(&self) -> &Node {
        &self.iommu
    }

    /// Returns the specifier's cells.
    #[inline]
    pub fn args(&self) -> &[u32] {
        &self.args[..self.count]
    }
}
