// SPDX-License-Identifier: GPL-2.0

//! Initcalls at any level, for built-in code.
//!
//! [`module!`](macros::module) runs a built-in module's initialiser at device level (6), like C's
//! `module_init()`. Core code sometimes has to run earlier: a bus must be registered before the
//! subsystems that register notifiers on it, for example. [`initcall!`](crate::initcall!) places a
//! function at any of the levels C offers (`include/linux/init.h`).
//!
//! C header: [`include/linux/init.h`](srctree/include/linux/init.h)

/// Runs a function at boot, at the given initcall level.
///
/// The function is named by an identifier in scope of the invocation, and may be invoked once
/// per scope. The level is one of `pure`, `core`, `postcore`, `arch`, `subsys`, `fs`, `rootfs`,
/// `device` or `late`, or a `_sync` variant of the numbered ones, as in C. The function takes
/// nothing and returns [`Result`](crate::error::Result); an error is reported by the initcall
/// machinery, as a C initcall's would be.
///
/// It emits the same entry as C's `___define_initcall()` and as [`module!`](macros::module) for
/// built-in code: a 32-bit place-relative reference where the architecture selects
/// `CONFIG_HAVE_ARCH_PREL32_RELOCATIONS`, a function pointer otherwise. Built-in code only: a
/// module gets a compile error and uses [`module!`](macros::module).
///
/// # Examples
///
/// ```ignore
/// use kernel::prelude::*;
///
/// fn my_bus_init() -> Result {
///     pr_info!("registering the bus before any subsystem looks at it\n");
///     Ok(())
/// }
///
/// kernel::initcall!(postcore, my_bus_init);
/// ```
#[macro_export]
macro_rules! initcall {
    (pure, $f:ident) => {
        $crate::__initcall!(".initcall0.init", $f);
    };
    (core, $f:ident) => {
        $crate::__initcall!(".initcall1.init", $f);
    };
    (core_sync, $f:ident) => {
        $crate::__initcall!(".initcall1s.init", $f);
    };
    (postcore, $f:ident) => {
        $crate::__initcall!(".initcall2.init", $f);
    };
    (postcore_sync, $f:ident) => {
        $crate::__initcall!(".initcall2s.init", $f);
    };
    (arch, $f:ident) => {
        $crate::__initcall!(".initcall3.init", $f);
    };
    (arch_sync, $f:ident) => {
        $crate::__initcall!(".initcall3s.init", $f);
    };
    (subsys, $f:ident) => {
        $crate::__initcall!(".initcall4.init", $f);
    };
    (subsys_sync, $f:ident) => {
        $crate::__initcall!(".initcall4s.init", $f);
    };
    (fs, $f:ident) => {
        $crate::__initcall!(".initcall5.init", $f);
    };
    (fs_sync, $f:ident) => {
        $crate::__initcall!(".initcall5s.init", $f);
    };
    (rootfs, $f:ident) => {
        $crate::__initcall!(".initcallrootfs.init", $f);
    };
    (device, $f:ident) => {
        $crate::__initcall!(".initcall6.init", $f);
    };
    (device_sync, $f:ident) => {
        $crate::__initcall!(".initcall6s.init", $f);
    };
    (late, $f:ident) => {
        $crate::__initcall!(".initcall7.init", $f);
    };
    (late_sync, $f:ident) => {
        $crate::__initcall!(".initcall7s.init", $f);
    };
}

/// Emits the initcall entry of [`initcall!`](crate::initcall!) in `$section`.
#[doc(hidden)]
#[macro_export]
macro_rules! __initcall {
    ($section:literal, $f:ident) => {
        #[cfg(MODULE)]
        ::core::compile_error!("initcall! is for built-in code; a module uses module!");

        $crate::macros::paste! {
            #[doc(hidden)]
            mod [<__initcall_ $f>] {
                extern "C" fn init() -> $crate::ffi::c_int {
                    let f: fn() -> $crate::error::Result = super::$f;
                    match f() {
                        Ok(()) => 0,
                        Err(e) => e.to_errno(),
                    }
                }

                #[cfg(not(MODULE))]
                #[cfg(CONFIG_HAVE_ARCH_PREL32_RELOCATIONS)]
                ::core::arch::global_asm!(
                    ::core::concat!(".section \"", $section, "\", \"a\""),
                    ".balign 4",
                    ".long {init} - .",
                    ".previous",
                    init = sym init,
                );

                #[cfg(not(MODULE))]
                #[cfg(not(CONFIG_HAVE_ARCH_PREL32_RELOCATIONS))]
                #[link_section = $section]
                #[used(compiler)]
                static INITCALL: extern "C" fn() -> $crate::ffi::c_int = init;
            }
        }
    };
}
