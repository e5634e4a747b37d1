/**
 * The lab's endpoint images: a Debian root per release, built once by lab/image/build.sh
 * (debootstrap minbase + a local apt repository of the bootstrap's packages) into a cache folder
 * keyed by release, package lists and the builder itself, and reused by every later run (CI
 * builds it once per run: the tests and `npm run lab` share it). Concurrent builders serialise on
 * a lock file; a finished image is never modified (each node boots an overlay of it).
 */
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import type { EndpointOs } from "../core/os";
import { OS_IMAGES } from "../core/os";
import { run } from "./exec";

const REPO_ROOT = path.resolve(__dirname, "..");

/** Debian releases by endpoint OS; Ubuntu is not booted in the lab (no Ubuntu archive here). */
export const LAB_RELEASES: Partial<Record<EndpointOs, string>> = { "debian-13": "trixie", "debian-12": "bookworm" };

/** What a Debian cloud image has before the bootstrap runs (systemd, sshd, sudo, apt's HTTPS CA
 *  bundle, ip and sysctl); debootstrap's minbase adds only what these need. */
export const BASE_PACKAGES: readonly string[] = ["systemd", "systemd-sysv", "dbus", "openssh-server", "iproute2", "sudo", "ca-certificates", "procps"];

/** Installed in the image before the bootstrap runs: the lab's deviations (lab/container.ts). */
export const LAB_PACKAGES: readonly string[] = ["libcharon-extra-plugins"];

/** Libreswan conflicts with strongSwan's packages: it cannot be resolved in one download with
 *  them, so the builder downloads it (with its dependencies) in a second pass into the same mirror. */
export const RESOLVED_APART: readonly string[] = ["libreswan"];

function namedPackages(script: string): Set<string> {
    const names = new Set<string>();
    for (const m of script.matchAll(/\bpackages\+?=\(([^)]*)\)/g)) {
        for (const word of m[1].split(/\s+/)) if (/^[a-z0-9][a-z0-9.+-]+$/.test(word)) names.add(word);
    }
    if (names.size === 0) throw new Error("no packages=(...) list found in bootstrap.sh");
    return names;
}

function bootstrapScript(): string {
    return fs.readFileSync(path.join(REPO_ROOT, "scripts", "endpoint", "bootstrap.sh"), "utf8");
}

/**
 * Every package the bootstrap may install (its `packages=(...)` and `packages+=(...)` lists, for
 * every mode), read from the script itself so the mirror follows it; RESOLVED_APART aside.
 */
export function bootstrapPackages(script = bootstrapScript()): string[] {
    return [...namedPackages(script)].filter((p) => !RESOLVED_APART.includes(p)).sort();
}

/** The bootstrap's packages that conflict with the others (Libreswan's): a second download pass. */
export function apartPackages(script = bootstrapScript()): string[] {
    return [...namedPackages(script)].filter((p) => RESOLVED_APART.includes(p)).sort();
}

export interface LabImage {
    readonly os: EndpointOs;
    readonly release: string;
    /** The cached image folder; `rootfs/` is the Debian root. */
    readonly dir: string;
    readonly rootfs: string;
    /** Packages in the image's local repository (with dependencies). */
    readonly mirrorPackages: readonly string[];
    /** Seconds this call spent building (0 when the cache had it). */
    readonly buildSeconds: number;
    /** The build's own step times (debootstrap, download, mirror), from when it was built. */
    readonly steps: Readonly<Record<string, number>>;
    readonly cached: boolean;
}

export function labCacheRoot(): string {
    return process.env.PVL_IMAGE_CACHE ?? "/var/cache/partner-vpn-lab";
}

const BUILDER = path.join(REPO_ROOT, "lab", "image", "build.sh");

/** The debootstrap layer's key: release and base packages (not the builder: its base step is stable). */
export function baseKey(release: string): string {
    return createHash("sha256").update(JSON.stringify({ release, base: BASE_PACKAGES })).digest("hex").slice(0, 16);
}

/** The image's key: its base, the mirror's package list and the builder itself. */
export function imageKey(release: string, mirror: readonly string[], apart: readonly string[] = []): string {
    const h = createHash("sha256");
    h.update(JSON.stringify({ base: baseKey(release), mirror, apart, lab: LAB_PACKAGES }));
    h.update(fs.readFileSync(BUILDER));
    return h.digest("hex").slice(0, 16);
}

function stepTimes(dir: string): Record<string, number> {
    const lines = fs.readFileSync(path.join(dir, "timings"), "utf8").trim().split("\n").map((l) => l.split(" "));
    const at = Object.fromEntries(lines.map(([t, name]) => [name, Number(t)]));
    return {
        debootstrap: at["debootstrap-end"] - at["debootstrap-start"],
        "copy of the debootstrap layer": at["copy-end"] - at["copy-start"],
        "lab packages": at["lab-packages-end"] - at["copy-end"],
        download: at["download-end"] - at["lab-packages-end"],
        mirror: at["mirror-end"] - at["download-end"],
    };
}

/** The image of `os`, from the cache or built now (minutes: debootstrap and the downloads). */
export async function ensureLabImage(os: EndpointOs): Promise<LabImage> {
    const release = LAB_RELEASES[os];
    if (!release) throw new Error(`the lab boots ${Object.keys(LAB_RELEASES).join(" and ")} only; ${os} is not booted in the lab`);
    if (!OS_IMAGES[os].bootedInLab) throw new Error(`${os} is not marked as booted in the lab`);
    const mirror = bootstrapPackages();
    const apart = apartPackages();
    const root = labCacheRoot();
    const dir = path.join(root, "images", `${release}-${imageKey(release, mirror, apart)}`);
    const start = Date.now();
    let cached = fs.existsSync(path.join(dir, "rootfs"));
    if (!cached) {
        fs.mkdirSync(path.join(root, "images"), { recursive: true });
        // flock: a second builder waits for the first, then finds the image and stops.
        const script = `[ -d "$1/rootfs" ] || exec "$2" "$3" "$1" "$4" "$5" "$6" "$7" "$8" "$9"`;
        const base = path.join(root, "images", `${release}-base-${baseKey(release)}`);
        const r = await run(["flock", path.join(root, "images", `${release}.lock`), "sh", "-c", script, "sh",
            dir, BUILDER, release, base, path.join(root, "debs", release), BASE_PACKAGES.join(","), mirror.join(" "), LAB_PACKAGES.join(" "), apart.join(" ")], { timeoutMs: 30 * 60_000 });
        if (r.code !== 0) throw new Error(`building the ${os} lab image failed (exit ${r.code}${r.timedOut ? ", timed out after 30 min" : ""}):\n${r.stderr.slice(-3000)}`);
        cached = false;
    }
    const listed = fs.readFileSync(path.join(dir, "mirror-packages"), "utf8").trim().split("\n");
    return {
        os, release, dir, rootfs: path.join(dir, "rootfs"), mirrorPackages: listed,
        buildSeconds: cached ? 0 : (Date.now() - start) / 1000, steps: stepTimes(dir), cached,
    };
}
