#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Print, one word a line, the QEMU command of a kunit.py qemu_config.

`make run` boots the very machine KUnit uses: this reads the machine from
the qemu_config through kunit.py's own loader instead of repeating it.

    qemu_cmd.py TREE QEMU_CONFIG KERNEL_BUILD_DIR
"""

import os
import sys

tree, config, build = sys.argv[1:4]
sys.path.insert(0, os.path.join(tree, 'tools', 'testing', 'kunit'))
import kunit_kernel  # noqa: E402  (needs the path above)

# KVM only where it can run the guest; TCG elsewhere, without a warning.
accel = ['-accel', 'tcg']
if os.uname().machine == 'aarch64' and os.access('/dev/kvm', os.W_OK):
    accel = ['-accel', 'kvm'] + accel

_, ops = kunit_kernel._get_qemu_ops(config, None, None)
cmd = ['qemu-system-' + ops._qemu_arch, '-nodefaults', '-m', '1024',
       '-kernel', os.path.join(build, ops._kernel_path),
       '-no-reboot', '-nographic', '-serial', 'mon:stdio'] + accel + \
    ops._extra_qemu_params
print('\n'.join(cmd))
# kunit.py adds kunit_shutdown=reboot, which would end the boot right after
# the (disabled) test executor: drop it.
cmdline = [w for w in ops._kernel_command_line.split()
           if not w.startswith('kunit_shutdown=')]
print('CMDLINE=' + ' '.join(cmdline))
