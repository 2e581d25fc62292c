# SPDX-License-Identifier: GPL-2.0
#
# QEMU arm64 virt machine with an emulated SMMUv3 in front of its PCIe host
# bridge.  Devices described in the device tree with "iommus" or through an
# "iommu-map" that names the SMMU get real stream table entries, their own
# IOMMU groups and DMA domains.
#
# Three edu PCI devices (slots 03.0, 04.0 and 05.0: stream IDs 0x18, 0x20
# and 0x28 through the host's iommu-map) do DMA on command through the SMMU,
# so that tests can show what a stream reaches (include/kunit/qemu_edu.h).
# Their DMA mask is all 64 bits: edu's default of 28 would clamp the
# addresses.
#
# Also carries what a booted kernel of this config needs to run a shell from
# an initramfs (`make run`).

from ..qemu_config import QemuArchParams

QEMU_ARCH = QemuArchParams(linux_arch='arm64',
			   kconfig='''
CONFIG_SERIAL_AMBA_PL011=y
CONFIG_SERIAL_AMBA_PL011_CONSOLE=y
CONFIG_PCI=y
CONFIG_PCI_HOST_GENERIC=y
CONFIG_IOMMU_SUPPORT=y
CONFIG_ARM_SMMU_V3=y
CONFIG_BLK_DEV_INITRD=y
CONFIG_DEVTMPFS=y
CONFIG_DEVTMPFS_MOUNT=y
CONFIG_BINFMT_ELF=y
CONFIG_BINFMT_SCRIPT=y
CONFIG_PROC_FS=y
CONFIG_SYSFS=y
CONFIG_TTY=y''',
			   qemu_arch='aarch64',
			   kernel_path='arch/arm64/boot/Image.gz',
			   kernel_command_line='console=ttyAMA0 panic=-1',
			   extra_qemu_params=['-machine', 'virt,iommu=smmuv3',
					      '-cpu', 'max,pauth-impdef=on',
					      '-smp', '2',
					      '-device', 'edu,addr=03.0,dma_mask=0xffffffffffffffff',
					      '-device', 'edu,addr=04.0,dma_mask=0xffffffffffffffff',
					      '-device', 'edu,addr=05.0,dma_mask=0xffffffffffffffff'])
