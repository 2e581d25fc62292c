// SPDX-License-Identifier: GPL-2.0

//! IOMMU groups and domains, as seen by the device that is in them.
//!
//! Read access for code that creates devices behind an IOMMU and must check what the IOMMU core
//! made of them: the group a device is in, its other devices, and the group's default domain.
//!
//! C header: [`include/linux/iommu.h`](srctree/include/linux/iommu.h)

use crate::{
    bindings,
    device::Device,
    error::to_result,
    ffi::{c_int, c_void},
    prelude::*,
    sync::aref::{ARef, AlwaysRefCounted},
    types::Opaque,
};
use core::{ops::RangeInclusive, ptr::NonNull};

/// An IOMMU group, `struct iommu_group`: the devices the IOMMU cannot isolate from each other.
///
/// # Invariants
///
/// A `Group` is always embedded in a valid `struct iommu_group` whose reference count is
/// non-zero for as long as the `Group` is reachable.
///
/// # Examples
///
/// ```
/// use kernel::{device::{Bound, Device}, faux, iommu::group::Group, prelude::*};
///
/// fn show_group(dev: &Device) {
///     match Group::of(dev) {
///         Some(group) => pr_info!("{} is in IOMMU group {}\n", dev.name(), group.id()),
///         None => pr_info!("{} is not behind an IOMMU\n", dev.name()),
///     }
/// }
///
/// // The IOMMU core does not probe the faux bus: its devices are in no group.
/// let reg = faux::Registration::new(c"iommu-group-doctest", None)?;
/// let dev: &faux::Device<Bound> = reg.as_ref();
/// show_group(dev.as_ref());
/// assert!(Group::of(dev.as_ref()).is_none());
/// # Ok::<(), Error>(())
/// ```
#[repr(transparent)]
pub struct Group(Opaque<bindings::iommu_group>);

impl Group {
    fn as_raw(&self) -> *mut bindings::iommu_group {
        self.0.get()
    }

    /// Returns the IOMMU group of `dev`, or `None` if the IOMMU core has not put it in one.
    pub fn of(dev: &Device) -> Option<ARef<Self>> {
        // SAFETY: `dev` is a valid device.
        let group = unsafe { bindings::iommu_group_get(dev.as_raw()) };
        // INVARIANT: `iommu_group_get()` returns the group referenced, or NULL.
        // SAFETY: The reference it took is handed to the `ARef`.
        NonNull::new(group).map(|g| unsafe { ARef::from_raw(g.cast()) })
    }

    /// Returns the group's id, as in `/sys/kernel/iommu_groups/<id>`.
    pub fn id(&self) -> u32 {
        // SAFETY: `self.as_raw()` is a valid group (type invariant).
        let id = unsafe { bindings::iommu_group_id(self.as_raw()) };
        // Ids come from an IDA and are never negative.
        id as u32
    }

    /// Returns the first device of the group for which `pred` is true, referenced.
    ///
    /// `pred` runs under the group's lock, once for each device in the group, until it returns
    /// `true`; it must not call into the IOMMU core for this group.
    pub fn find_device(&self, mut pred: impl FnMut(&Device) -> bool) -> Option<ARef<Device>> {
        struct Search<'a> {
            pred: &'a mut dyn FnMut(&Device) -> bool,
            found: Option<ARef<Device>>,
        }

        unsafe extern "C" fn visit(dev: *mut bindings::device, data: *mut c_void) -> c_int {
            // SAFETY: `data` is the `Search` passed below, not otherwise used during the walk.
            let search = unsafe { &mut *data.cast::<Search<'_>>() };
            // SAFETY: The IOMMU core passes a device of the group, which stays valid during the
            // callback: it runs under the group's mutex, and devices leave a group under it.
            let dev = unsafe { Device::from_raw(dev) };
            if (search.pred)(dev) {
                search.found = Some(dev.into());
                return 1;
            }
            0
        }

        let mut search = Search {
            pred: &mut pred,
            found: None,
        };
        // SAFETY: `self.as_raw()` is a valid group; `visit` has the callback's signature and
        // gets `search` back, which outlives the walk.
        unsafe {
            bindings::iommu_group_for_each_dev(self.as_raw(), (&raw mut search).cast(), Some(visit))
        };
        search.found
    }
}

// SAFETY: Instances of `Group` are always reference-counted (type invariant).
unsafe impl AlwaysRefCounted for Group {
    fn inc_ref(&self) {
        // SAFETY: The existence of a shared reference means that the refcount is non-zero.
        unsafe { bindings::iommu_group_ref_get(self.as_raw()) };
    }

    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: The safety requirements guarantee that the refcount is non-zero.
        unsafe { bindings::iommu_group_put(obj.cast().as_ptr()) }
    }
}

// SAFETY: A group's reference count is a kobject's and its state is under its own mutex: it may
// be used and released from any thread.
unsafe impl Send for Group {}

// SAFETY: As for `Send`; every method takes `&self` and is safe to call concurrently.
unsafe impl Sync for Group {}

/// An IOMMU domain, `struct iommu_domain`: one IOVA space and its translation.
///
/// Its type, aperture and page sizes can be read. The C side may write the domain while it is
/// in use: no reference to the `struct iommu_domain` is ever formed, each field is read once
/// through the raw pointer, like `READ_ONCE()`. In particular a write of `DMA-FQ` to
/// `/sys/kernel/iommu_groups/N/type` turns a DMA domain into a flush-queue one in place
/// (`iommu_group_store_type()` changes its `type` from `IOMMU_DOMAIN_DMA` to
/// `IOMMU_DOMAIN_DMA_FQ`), even while the group's default domain is claimed; both are DMA API
/// domains. The aperture and page sizes are set when the domain is allocated.
///
/// # Invariants
///
/// A `&Domain` points to a valid `struct iommu_domain` for the lifetime of the reference.
#[repr(transparent)]
pub struct Domain(Opaque<bindings::iommu_domain>);

/// Reads `$field` of the domain `$domain` once, through the raw pointer.
macro_rules! read_once {
    ($domain:expr, $($field:tt).+) => {{
        let domain: &Domain = $domain;
        let raw = domain.0.get();
        // SAFETY: `raw` is a valid domain (type invariant of `Domain`); the field is read once,
        // volatile, without forming a reference the C side could write through concurrently.
        unsafe { (&raw const (*raw).$($field).+).read_volatile() }
    }};
}

impl Domain {
    /// Returns whether DMA goes untranslated (`IOMMU_DOMAIN_IDENTITY`, passthrough).
    pub fn is_identity(&self) -> bool {
        read_once!(self, type_) == bindings::IOMMU_DOMAIN_IDENTITY
    }

    /// Returns whether the DMA API manages the domain's IOVA space (`IOMMU_DOMAIN_DMA` or
    /// `IOMMU_DOMAIN_DMA_FQ`; the IOMMU core may turn the former into the latter at any time).
    pub fn is_dma_api(&self) -> bool {
        read_once!(self, type_) & bindings::__IOMMU_DOMAIN_DMA_API != 0
    }

    /// Returns the IOVAs the domain can translate (its geometry's aperture).
    pub fn aperture(&self) -> RangeInclusive<u64> {
        read_once!(self, geometry.aperture_start)..=read_once!(self, geometry.aperture_end)
    }

    /// Returns the domain's IOVA granule, its smallest page size; `None` if it has none.
    pub fn granule(&self) -> Option<u64> {
        match read_once!(self, pgsize_bitmap) {
            0 => None,
            bitmap => Some(1u64 << bitmap.trailing_zeros()),
        }
    }
}

/// A device's use of its IOMMU group's default domain (`iommu_device_use_default_domain()`).
///
/// While a device uses the default domain, the group cannot be claimed by a user-space driver
/// and its default domain cannot be replaced by another (a write to
/// `/sys/kernel/iommu_groups/N/type` of another kind is refused; DMA to DMA-FQ changes the
/// domain in place), so the domain can be read. Dropping it gives the use back.
///
/// C code must not attach the group to another domain (`iommu_attach_device()`,
/// `iommu_attach_group()`) while a device uses its default domain: the ownership model of the
/// IOMMU core forbids it, but `iommu_attach_device()` does not check it.
///
/// # Invariants
///
/// `dev` has claimed its group's default domain once, given back when `self` is dropped.
///
/// # Examples
///
/// ```
/// use kernel::{device::{Bound, Device}, faux, iommu::group::DefaultDomainUse, prelude::*};
///
/// fn translated(dev: &Device) -> Result<bool> {
///     let using = DefaultDomainUse::new(dev)?;
///     Ok(using.domain().is_some_and(|d| d.is_dma_api()) && using.dma_iommu())
/// }
///
/// // A device in no group claims nothing, and has no domain.
/// let reg = faux::Registration::new(c"iommu-domain-doctest", None)?;
/// let dev: &faux::Device<Bound> = reg.as_ref();
/// assert!(!translated(dev.as_ref())?);
/// # Ok::<(), Error>(())
/// ```
pub struct DefaultDomainUse {
    dev: ARef<Device>,
}

impl DefaultDomainUse {
    /// Claims the default domain of the group of `dev` for the DMA API.
    ///
    /// Fails with `EBUSY` if the group is owned by a user-space driver. A device in no group
    /// claims nothing, which succeeds.
    pub fn new(dev: &Device) -> Result<Self> {
        // SAFETY: `dev` is a valid device.
        to_result(unsafe { bindings::iommu_device_use_default_domain(dev.as_raw()) })?;
        // INVARIANT: The claim succeeded.
        Ok(Self { dev: dev.into() })
    }

    /// Returns the device's domain, the group's default domain; `None` without a group.
    pub fn domain(&self) -> Option<&Domain> {
        // SAFETY: `self.dev` is a valid device.
        let domain = unsafe { bindings::iommu_get_domain_for_dev(self.dev.as_raw()) };
        // INVARIANT: The domain is the group's default domain, which lives as long as the group,
        // and the group as long as the device is in it. A change of the group's type that
        // replaces the domain is refused by the IOMMU core while the device uses it, as it does
        // for as long as `self` (type invariant); a change from DMA to DMA-FQ keeps the object,
        // and `Domain` reads its type with volatile reads. Attaching the group to another
        // domain is not checked by `iommu_attach_device()`: that C callers do not do so while
        // the default domain is in use is a requirement of the IOMMU core on them (see the
        // type's documentation), which this relies on.
        // SAFETY: `Domain` is a transparent wrapper of `struct iommu_domain`.
        NonNull::new(domain).map(|d| unsafe { &*d.as_ptr().cast::<Domain>() })
    }

    /// Returns whether the DMA API maps the device's DMA through the IOMMU (`dev_dma_iommu()`),
    /// which it does for a DMA domain once the IOMMU core has set the device up.
    pub fn dma_iommu(&self) -> bool {
        // SAFETY: `self.dev` is a valid device; the flag is set while the device is probed by
        // the IOMMU core, before the claim could succeed.
        unsafe { bindings::dev_dma_iommu(self.dev.as_raw()) }
    }
}

impl Drop for DefaultDomainUse {
    fn drop(&mut self) {
        // SAFETY: The device claimed the default domain once (type invariant); this gives the
        // claim back.
        unsafe { bindings::iommu_device_unuse_default_domain(self.dev.as_raw()) };
    }
}
