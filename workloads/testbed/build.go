//go:build linux

package testbed

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Suite is the Debian release the guest is built from. It is bookworm
// because its Dovecot is 2.3, the last release with the director (Dovecot
// 2.4 removed it).
const Suite = "bookworm"

// GuestPackages are the Debian packages of the guest's root file system.
var GuestPackages = []string{
	"nfs-kernel-server", "nfs-common", "rpcbind", "kmod", "iproute2",
	"dovecot-core", "dovecot-imapd", "dovecot-lmtpd", "haproxy",
}

// HostPackages are the Debian packages the build needs on the host: the
// user-mode Linux kernel and its modules, the root file system builder,
// and mkfs.ext4.
var HostPackages = []string{"user-mode-linux", "mmdebstrap", "e2fsprogs"}

// Kernel is the user-mode Linux kernel the user-mode-linux package
// installs.
const Kernel = "/usr/bin/linux.uml"

// Files of a built guest folder.
const (
	imageFile    = "root.img"
	manifestFile = "guest.json"
	initPath     = "/sbin/mailsim-init"
)

// initScript is the guest's init: a minimal root has no init system, so the
// kernel starts this script, which mounts the run's shared folder and hands
// over to mailsim.
const initScript = `#!/bin/sh
# mailsim testbed guest init: mount the folder the host shares with this
# guest (hostfs, limited to the run's folder) and run mailsim as PID 1.
mount -t proc proc /proc
mount -t hostfs none /host || { echo "mailsim-init: cannot mount the host folder"; exec sleep 1; }
exec /host/mailsim testbed guest
`

// GuestManifest records what a built guest is made of.
type GuestManifest struct {
	// Recipe identifies what the build was asked for; a build with the
	// same recipe is up to date.
	Recipe string `json:"recipe"`
	Suite  string `json:"suite"`
	// KernelVersion is the user-mode-linux package version, and Modules
	// the kernel release its modules are for.
	KernelVersion string `json:"kernel_version"`
	Modules       string `json:"modules"`
	// Packages are the guest's package versions, "name version" each.
	Packages []string `json:"packages"`
	Built    string   `json:"built"`
}

// DefaultDir returns the default folder of the built guest: mailsim/testbed
// in the user's cache directory.
func DefaultDir() (string, error) {
	d, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "mailsim", "testbed"), nil
}

// Missing lists what the machine lacks to build or run the testbed, in
// words a user can act on. multiHost adds what the multi-host topology
// needs.
func Missing(multiHost bool) []string {
	var out []string
	if os.Geteuid() != 0 {
		out = append(out, "root: building the root file system, mounting NFS inside the guests and making the testbed's network namespace need root")
	}
	if multiHost {
		if _, err := os.Stat("/dev/net/tun"); err != nil {
			out = append(out, "/dev/net/tun: the multi-host topology connects its guests with tap devices")
		}
		if _, err := exec.LookPath("ip"); err != nil {
			out = append(out, "ip (Debian package iproute2): the multi-host topology makes a network namespace and a bridge")
		}
	}
	return out
}

// Build builds the guest into dir: it installs the host packages it needs
// with apt-get when they are missing, builds a minimal Debian root file
// system with the guest packages (mmdebstrap), adds the user-mode kernel's
// modules and the init script, and makes it an ext4 image. A folder whose
// guest was built with the same recipe is left as it is. Progress goes to
// log.
func Build(ctx context.Context, dir string, log io.Writer) (*GuestManifest, error) {
	if miss := Missing(false); len(miss) > 0 {
		return nil, fmt.Errorf("testbed: cannot build here; missing: %s", strings.Join(miss, "; "))
	}
	if err := ensureHostPackages(ctx, log); err != nil {
		return nil, err
	}
	kver, err := output(ctx, "dpkg-query", "-W", "-f", "${Version}", "user-mode-linux")
	if err != nil {
		return nil, fmt.Errorf("testbed: user-mode-linux: %w", err)
	}
	modules, err := kernelModulesRelease()
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(strings.Join(append([]string{Suite, kver, modules, initScript}, GuestPackages...), "\n")))
	recipe := hex.EncodeToString(sum[:8])
	if m, err := ReadGuest(dir); err == nil && m.Recipe == recipe {
		fmt.Fprintf(log, "testbed: the guest in %s is up to date (recipe %s)\n", dir, recipe)
		return m, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	root := filepath.Join(dir, ".rootfs.tmp")
	if err := os.RemoveAll(root); err != nil {
		return nil, err
	}
	defer os.RemoveAll(root)
	start := time.Now()
	fmt.Fprintf(log, "testbed: building a %s root file system with %s\n", Suite, strings.Join(GuestPackages, ", "))
	if err := run(ctx, log, "mmdebstrap", "--variant=minbase", "--include="+strings.Join(GuestPackages, ","), Suite, root); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(root, "lib/modules"), 0o755); err != nil {
		return nil, err
	}
	if err := run(ctx, log, "cp", "-a", filepath.Join("/usr/lib/uml/modules", modules), filepath.Join(root, "lib/modules", modules)); err != nil {
		return nil, err
	}
	if err := run(ctx, log, "chroot", root, "depmod", modules); err != nil {
		return nil, err
	}
	for _, d := range []string{"host", "export", "var/log/mailsim"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			return nil, err
		}
	}
	if err := os.WriteFile(filepath.Join(root, initPath), []byte(initScript), 0o755); err != nil {
		return nil, err
	}
	pkgs, err := output(ctx, "chroot", root, "dpkg-query", "-W", "-f", "${Package} ${Version}\n")
	if err != nil {
		return nil, err
	}
	m := &GuestManifest{Recipe: recipe, Suite: Suite, KernelVersion: kver, Modules: modules, Built: time.Now().UTC().Format(time.RFC3339)}
	for _, line := range strings.Split(strings.TrimSpace(pkgs), "\n") {
		name, _, _ := strings.Cut(line, " ")
		for _, p := range GuestPackages {
			if p == name {
				m.Packages = append(m.Packages, line)
			}
		}
	}
	img := filepath.Join(dir, "."+imageFile+".tmp")
	_ = os.Remove(img)
	if err := run(ctx, log, "mkfs.ext4", "-q", "-F", "-L", "mailsimroot", "-d", root, img, "2G"); err != nil {
		return nil, err
	}
	if err := os.Rename(img, filepath.Join(dir, imageFile)); err != nil {
		return nil, err
	}
	b, _ := json.MarshalIndent(m, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, manifestFile), append(b, '\n'), 0o644); err != nil {
		return nil, err
	}
	fmt.Fprintf(log, "testbed: built %s in %s (%.0f s)\n", filepath.Join(dir, imageFile), dir, time.Since(start).Seconds())
	return m, nil
}

// ReadGuest reads the manifest of the guest built in dir.
func ReadGuest(dir string) (*GuestManifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, manifestFile))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("testbed: no guest built in %s: run 'mailsim testbed build --dir %s' first", dir, dir)
		}
		return nil, err
	}
	var m GuestManifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("testbed: %s: %w", filepath.Join(dir, manifestFile), err)
	}
	if _, err := os.Stat(filepath.Join(dir, imageFile)); err != nil {
		return nil, fmt.Errorf("testbed: the guest in %s has no %s: build it again", dir, imageFile)
	}
	return &m, nil
}

func ensureHostPackages(ctx context.Context, log io.Writer) error {
	var missing []string
	for _, p := range HostPackages {
		if _, err := output(ctx, "dpkg-query", "-W", "-f", "${Status}", p); err != nil {
			missing = append(missing, p)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if _, err := exec.LookPath("apt-get"); err != nil {
		return fmt.Errorf("testbed: the Debian packages %s are missing and there is no apt-get to install them", strings.Join(missing, ", "))
	}
	fmt.Fprintf(log, "testbed: installing %s\n", strings.Join(missing, ", "))
	if err := run(ctx, log, "apt-get", "update", "-qq"); err != nil {
		return err
	}
	args := append([]string{"install", "-y", "-qq"}, missing...)
	cmd := exec.CommandContext(ctx, "apt-get", args...)
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("testbed: apt-get install %s: %v\n%s", strings.Join(missing, " "), err, out.String())
	}
	return nil
}

// kernelModulesRelease returns the kernel release of the modules the
// user-mode-linux package ships.
func kernelModulesRelease() (string, error) {
	es, err := os.ReadDir("/usr/lib/uml/modules")
	if err != nil || len(es) == 0 {
		return "", fmt.Errorf("testbed: the user-mode-linux package has no modules in /usr/lib/uml/modules")
	}
	return es[len(es)-1].Name(), nil
}

func run(ctx context.Context, log io.Writer, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("testbed: %s %s: %v\n%s", name, strings.Join(args, " "), err, tail(out.String(), 2000))
	}
	return nil
}

func output(ctx context.Context, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	b, err := cmd.Output()
	if err != nil {
		return "", err
	}
	return string(b), nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
