// SPDX-License-Identifier: GPL-2.0

//! IOMMU groups, as seen by the code that creates the devices in them.
//!
//! For bus code that creates devices behind an IOMMU and uses them for DMA itself: the group a
//! device is in, its other devices, and the device's claim on the group's default domain
//! ([`DmaDomainClaim`]). The domain itself is the IOMMU core's: it is checked in C, under the
//! group's mutex, never read from here.
//!
//! C header: [`include/linux/iommu.h`](srctree/include/linux/iommu.h)

use crate::{
    bindings,
    device::{dynamic, Device},
    error::to_result,
    ffi::{c_int, c_void},
    prelude::*,
    sync::aref::{ARef, AlwaysRefCounted},
    types::Opaque,
};
use core::ptr::NonNull;

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
    #[inline]
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
    #[inline]
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
    ///
    /// # Examples
    ///
    /// ```
    /// use kernel::{device::Device, iommu::group::Group, prelude::*};
    ///
    /// // Whether `dev` shares its IOMMU group, hence its IOVA space, with another device.
    /// fn shares_group(dev: &Device) -> bool {
    ///     Group::of(dev).is_some_and(|group| {
    ///         group.find_device(|other| !core::ptr::eq(other, dev)).is_some()
    ///     })
    /// }
    /// # let _ = shares_group;
    /// ```
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
    #[inline]
    fn inc_ref(&self) {
        // SAFETY: The existence of a shared reference means that the refcount is non-zero.
        unsafe { bindings::iommu_group_ref_get(self.as_raw()) };
    }

    #[inline]
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

/// A device's claim on its IOMMU group's default domain for the DMA API
/// (`iommu_device_use_dma_domain()`), checked by the IOMMU core.
///
/// Only the creator of a device that no driver binds makes one: it owns the device as an
/// [`dynamic::Added`], and claims what a driver core bus claims for a driver about to bind. The
/// IOMMU core checks, under the group's mutex, that the DMA API translates the device's DMA
/// there: a DMA domain that dma-iommu set the device up for (or an identity domain, if allowed),
/// whose aperture holds the device's IOVA window and `iommu-ranges`. While the claim holds, the
/// group's default domain is not replaced and no user-space driver claims the group. Dropping it
/// gives the claim back; drop it before the device leaves its group (`device_del()`), or the
/// group stays claimed for as long as it has other devices.
///
/// # Invariants
///
/// `dev` claimed its group's default domain once, given back when `self` is dropped.
///
/// # Examples
///
/// ```
/// use kernel::{device::dynamic, iommu::group::DmaDomainClaim, prelude::*};
///
/// // Claim the domain of a device just added, before anybody hears of it.
/// fn check_translated(new: &dynamic::Quiet<u32>) -> Result<DmaDomainClaim> {
///     DmaDomainClaim::new(new, false)
/// }
/// # let _ = check_translated;
/// ```
pub struct DmaDomainClaim {
    dev: ARef<Device>,
}

impl DmaDomainClaim {
    /// Claims the default domain of the group of `dev`'s device for the DMA API, if the IOMMU
    /// core finds that it translates the device's DMA; an identity domain passes only with
    /// `allow_identity`.
    ///
    /// Fails as `iommu_device_use_dma_domain()` does, which logs each refusal against the device:
    /// `ENODEV` if the device is in no group or its DMA is not translated, `ERANGE` or `EINVAL` if
    /// its window or `iommu-ranges` do not fit the domain, `EBUSY` if the group is owned otherwise,
    /// `EPROBE_DEFER` if the group has no default domain yet.
    pub fn new<T: 'static>(dev: &dynamic::Added<T>, allow_identity: bool) -> Result<Self> {
        let dev = dev.device();
        // SAFETY: `dev` is a valid device, added to the driver core.
        to_result(unsafe { bindings::iommu_device_use_dma_domain(dev.as_raw(), allow_identity) })?;
        // INVARIANT: The claim succeeded.
        Ok(Self { dev: dev.into() })
    }
}

impl Drop for DmaDomainClaim {
    fn drop(&mut self) {
        // SAFETY: The device claimed the default domain once (type invariant); this gives the
        // claim back. A device that left its group meanwhile has none to give back to.
        unsafe { bindings::iommu_device_unuse_default_domain(self.dev.as_raw()) };
    }
}
