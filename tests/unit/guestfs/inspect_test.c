/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lib/guestfs inspection (inspect.c): a GPT disk made with sgdisk holding
 * a Debian-like ext4 root (os-release through its usual symlink,
 * debian_version, hostname, an x86-64 ELF /usr/bin/ls behind a /bin
 * symlink, an fstab naming its filesystems by UUID, PARTUUID and LABEL),
 * an ext2 /boot, a /home and a swap partition; a second disk with an
 * Alpine-like root (release file only, aarch64 binary); a disk with no
 * OS. Then hostile files: huge, binary, unterminated lines.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "inspect.h"
#include "kk_test.h"

static char tmp[] = "/tmp/kvmkit-test.gfsi.XXXXXX";
static bool have_tools;

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
    char cmd[8192] = "exec >/dev/null; ";
    size_t n = strlen(cmd);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd + n, sizeof(cmd) - n, fmt, ap);
    va_end(ap);
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* A 64-byte ELF header for @machine (little-endian, 64-bit). */
static void write_elf(const char *path, unsigned machine, bool is64)
{
    uint8_t e[64] = {0x7F, 'E', 'L', 'F', is64 ? 2 : 1, 1, 1};
    e[16] = 2; /* ET_EXEC */
    e[18] = (uint8_t)machine;
    e[19] = (uint8_t)(machine >> 8);
    e[20] = 1;
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(e, 1, sizeof(e), f), sizeof(e));
    fclose(f);
}

#define ROOT_UUID "0d3b1f1e-6a9c-4f2b-9a51-1e2d3c4b5a69"
#define HOME_UUID "5b2c2d7e-8f1a-4e3b-8c2d-9e0f1a2b3c4d"
#define SWAP_UUID "a1b2c3d4-e5f6-4a1b-8c9d-0e1f2a3b4c5d"
#define BOOT_PARTUUID "3f0e4b8a-1c2d-4e5f-8a9b-0c1d2e3f4a5b"

static int setup(void **state)
{
    (void)state;
    have_tools = run("command -v mke2fs && command -v sgdisk && command -v mkswap") == 0;
    if (!have_tools)
        return 0;
    assert_non_null(mkdtemp(tmp));
    char path[512];
    assert_int_equal(run("set -e; cd %s; mkdir -p root/etc root/usr/lib root/usr/bin root/boot "
                         "root/home root/var boot/grub home/user alp/etc alp/bin\n"
                         "ln -s usr/bin root/bin\n"
                         "printf 'PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\\nNAME=\"Debian "
                         "GNU/Linux\"\\nVERSION_ID=\"12\"\\nID=debian\\n' > root/usr/lib/os-release\n"
                         "ln -s ../usr/lib/os-release root/etc/os-release\n"
                         "echo 12.5 > root/etc/debian_version\n"
                         "printf '# static\\n  web01.example  \\n' > root/etc/hostname\n"
                         "printf '# <fs> <mp> <type> <opts> <dump> <pass>\\n"
                         "UUID=" ROOT_UUID " / ext4 errors=remount-ro 0 1\\n"
                         "PARTUUID=" BOOT_PARTUUID " /boot ext2 defaults 0 2\\n"
                         "LABEL=home\\t/home ext4 defaults 0 2\\n"
                         "UUID=" SWAP_UUID " none swap sw 0 0\\n"
                         "/dev/sdb9 /srv ext4 defaults 0 0\\n"
                         "proc /proc proc defaults 0 0\\n"
                         "tmpfs /tmp tmpfs defaults 0 0\\n' > root/etc/fstab\n"
                         "echo kernel > boot/vmlinuz; echo hi > home/user/notes\n"
                         "echo 3.18.4 > alp/etc/alpine-release; echo alp > alp/etc/hostname\n"
                         "mke2fs -q -t ext4 -U " ROOT_UUID " -d root root.img 16M\n"
                         "mke2fs -q -t ext2 -d boot boot.img 4M\n"
                         "mke2fs -q -t ext4 -U " HOME_UUID " -L home -d home home.img 8M\n"
                         "truncate -s 40M disk.img\n"
                         "sgdisk -n1:2048:+16M -n2:0:+4M -u2:" BOOT_PARTUUID " -n3:0:+8M "
                         "-n4:0:+4M -t4:8200 disk.img\n"
                         "dd if=root.img of=disk.img bs=512 seek=2048 conv=notrunc status=none\n"
                         "dd if=boot.img of=disk.img bs=512 seek=34816 conv=notrunc status=none\n"
                         "dd if=home.img of=disk.img bs=512 seek=43008 conv=notrunc status=none\n"
                         "dd if=/dev/zero of=swap.img bs=1M count=4 status=none\n"
                         "mkswap -U " SWAP_UUID " swap.img\n"
                         "dd if=swap.img of=disk.img bs=512 seek=59392 conv=notrunc status=none\n",
                         tmp),
                     0);
    snprintf(path, sizeof(path), "%s/root/usr/bin/ls", tmp);
    write_elf(path, 62, true);
    snprintf(path, sizeof(path), "%s/alp/bin/busybox", tmp);
    write_elf(path, 183, true);
    /* the root image again, now with the binary */
    assert_int_equal(run("set -e; cd %s; rm root.img; mke2fs -q -t ext4 -U " ROOT_UUID
                         " -d root root.img 16M\n"
                         "dd if=root.img of=disk.img bs=512 seek=2048 conv=notrunc status=none\n"
                         "mke2fs -q -t ext4 -d alp alp.img 8M\n"
                         "mkdir -p empty/data; mke2fs -q -t ext4 -d empty empty.img 8M\n",
                         tmp),
                     0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (have_tools && !getenv("KVMKIT_TEST_KEEP"))
        run("rm -rf %s", tmp);
    return 0;
}

static struct gfs_handle *open_imgs(const char *a, const char *b)
{
    struct gfs_handle *h;
    char p[512];
    assert_int_equal(gfs_handle_new(&h), 0);
    snprintf(p, sizeof(p), "%s/%s", tmp, a);
    assert_int_equal(gfs_add_drive(h, p, "raw"), 0);
    if (b) {
        snprintf(p, sizeof(p), "%s/%s", tmp, b);
        assert_int_equal(gfs_add_drive(h, p, "raw"), 0);
    }
    assert_int_equal(gfs_launch(h), 0);
    return h;
}

static void test_debian(void **state)
{
    (void)state;
    if (!have_tools)
        skip();
    struct gfs_handle *h = open_imgs("disk.img", "alp.img");
    struct gfs_os *os;
    int n = gfs_inspect_os(h, &os);
    assert_int_equal(n, 2);
    assert_int_equal(gfs_nmounts(h), 0); /* nothing left mounted */

    struct gfs_os *d = &os[0];
    assert_string_equal(d->root, "/dev/sda1");
    assert_string_equal(d->type, "linux");
    assert_string_equal(d->distro, "debian");
    assert_int_equal(d->major_version, 12);
    assert_int_equal(d->minor_version, 5);
    /* os-release has only the major version: debian_version wins, as in libguestfs */
    assert_string_equal(d->product_name, "12.5");
    assert_string_equal(d->product_variant, "unknown");
    assert_string_equal(d->hostname, "web01.example");
    assert_string_equal(d->arch, "x86_64");
    assert_string_equal(d->package_format, "deb");
    assert_string_equal(d->package_management, "apt");
    assert_string_equal(d->osinfo, "debian12");
    assert_string_equal(d->format, "installed");
    /* /srv names a device that does not exist; proc and tmpfs are not devices */
    assert_int_equal(d->nmountpoints, 3);
    assert_string_equal(d->mountpoints[0].mountpoint, "/");
    assert_string_equal(d->mountpoints[0].device, "/dev/sda1");
    assert_string_equal(d->mountpoints[1].mountpoint, "/boot");
    assert_string_equal(d->mountpoints[1].device, "/dev/sda2");
    assert_string_equal(d->mountpoints[2].mountpoint, "/home");
    assert_string_equal(d->mountpoints[2].device, "/dev/sda3");
    assert_int_equal(d->nfilesystems, 4);
    assert_string_equal(d->filesystems[3], "/dev/sda4"); /* swap */

    struct gfs_os *a = &os[1];
    assert_string_equal(a->root, "/dev/sdb");
    assert_string_equal(a->distro, "alpinelinux");
    assert_int_equal(a->major_version, 3);
    assert_int_equal(a->minor_version, 18);
    assert_string_equal(a->product_name, "3.18.4");
    assert_string_equal(a->arch, "aarch64");
    assert_string_equal(a->hostname, "alp");
    assert_string_equal(a->package_format, "apk");
    assert_string_equal(a->osinfo, "alpinelinux3.18");

    assert_int_equal(gfs_inspect_mount(h, d), 0);
    assert_int_equal(gfs_nmounts(h), 3);
    char *data;
    size_t len;
    assert_int_equal(gfs_read_file(h, "/boot/vmlinuz", 100, &data, &len), 0);
    assert_string_equal(data, "kernel\n");
    free(data);
    assert_int_equal(gfs_read_file(h, "/home/user/notes", 100, &data, &len), 0);
    assert_string_equal(data, "hi\n");
    free(data);
    gfs_inspect_free(os, n);
    gfs_handle_free(h);
}

static void test_no_os(void **state)
{
    (void)state;
    if (!have_tools)
        skip();
    struct gfs_handle *h = open_imgs("empty.img", NULL);
    struct gfs_os *os;
    assert_int_equal(gfs_inspect_os(h, &os), 0);
    assert_null(os);
    gfs_handle_free(h);
    /* not launched */
    assert_int_equal(gfs_handle_new(&h), 0);
    assert_int_equal(gfs_inspect_os(h, &os), -EINVAL);
    gfs_handle_free(h);
}

/* Files an attacker controls: binary os-release, a 4 MiB hostname file,
 * an fstab of one endless line, NULs and escapes everywhere. */
static void test_hostile(void **state)
{
    (void)state;
    if (!have_tools)
        skip();
    assert_int_equal(run("set -e; cd %s; rm -rf bad; mkdir -p bad/etc bad/bin\n"
                         "head -c 4096 /dev/urandom > bad/etc/os-release\n"
                         "printf '\\nID=\"debian\\nVERSION_ID=\"99999999999999999999.-3\\n"
                         "PRETTY_NAME=\"a\\\\\\\\\\x01\\x1b[31m\"\\n' >> bad/etc/os-release\n"
                         "head -c 4194304 /dev/zero | tr '\\\\0' x > bad/etc/hostname\n"
                         "head -c 200000 /dev/zero | tr '\\\\0' 'U' > bad/etc/fstab\n"
                         "printf 'UUID=\\\\\\\\777 /x\\\\\\\\0 ext4\\n/dev/sdzz99 / ext4\\n' >> "
                         "bad/etc/fstab\n"
                         "ln -s /bin/sh bad/bin/sh\n"
                         "mke2fs -q -t ext4 -d bad bad.img 16M\n",
                         tmp),
                     0);
    struct gfs_handle *h = open_imgs("bad.img", NULL);
    struct gfs_os *os;
    int n = gfs_inspect_os(h, &os);
    assert_int_equal(n, 1);
    /* no control character reaches a field */
    for (const char *p = os[0].product_name; *p; p++)
        assert_true((unsigned char)*p >= 0x20 && *p != 0x7F);
    assert_string_equal(os[0].arch, "unknown"); /* /bin/sh loops */
    assert_string_equal(os[0].hostname, "unknown"); /* larger than the bound */
    assert_int_equal(os[0].nmountpoints, 1);
    gfs_inspect_free(os, n);
    gfs_handle_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_debian),
        cmocka_unit_test(test_no_os),
        cmocka_unit_test(test_hostile),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
