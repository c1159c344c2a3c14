//! Validation benchmarks for lms-scorm, with plain std timing (`harness = false`). Every package is generated at
//! run time into a temporary folder (removed at the end, including the 1 GB one) with the zip crate's writer
//! streaming to disk, so nothing is committed and generation needs no memory for the data.
//!
//! - `latency`: a realistic ~10 MB SCORM 2004 4th Edition course (300 lessons, ~1,200 files, video-like stored
//!   media and deflated HTML) validated in-process many times: median and p95 against the < 50 ms goal, next to
//!   `unzip -l` / `unzip -tq` / `python3 -m zipfile -l` on the same file.
//! - `memory`: 100 MB / 10,000 entries, 1 GB / 10,000 entries and 1 GB / 100,000 entries, each validated in a
//!   fresh child process (this binary with `--child-validate`), reporting wall time and peak RSS (VmHWM), next
//!   to the same references under `/usr/bin/time`.
//!
//! `cargo bench -p lms-scorm --bench validate [-- latency|memory]`; `scripts/bench-scorm` wraps it. Run by
//! `cargo test --all-targets` (no `--bench` argument), it returns at once. For profiling, the binary also takes
//! `--generate latency|10k|100k FILE` (write one of the packages and stop), `--child-validate FILE` (validate once,
//! print the time and VmHWM) and `--phases FILE` (time and memory after each step of a validation).

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use lms_scorm::{Options, Verdict, validate_path};
use zip::CompressionMethod;
use zip::write::SimpleFileOptions;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(i) = args.iter().position(|a| a == "--phases") {
        phases(Path::new(args.get(i + 1).expect("--phases PATH")));
        return;
    }
    if let Some(i) = args.iter().position(|a| a == "--child-validate") {
        let path = args.get(i + 1).expect("--child-validate PATH");
        child_validate(Path::new(path));
        return;
    }
    if let Some(i) = args.iter().position(|a| a == "--generate") {
        // For profiling: `validate --generate latency|10k|100k PATH`, then `perf record validate --child-validate PATH`.
        let (what, path) = (args.get(i + 1).expect("what"), args.get(i + 2).expect("path"));
        let layout = match what.as_str() {
            "latency" => Layout::realistic(),
            "10k" => Layout::bulk(10_000, 10_000),
            "100k" => Layout::bulk(100_000, 10_000),
            other => panic!("unknown package {other}"),
        };
        write_package(Path::new(path), &layout);
        return;
    }
    if !args.iter().any(|a| a == "--bench") {
        eprintln!("validate bench: skipped (run it with `cargo bench -p lms-scorm --bench validate`)");
        return;
    }
    let selected: Vec<&str> = args.iter().filter(|a| !a.starts_with('-')).map(String::as_str).collect();
    let wants = |name: &str| selected.is_empty() || selected.contains(&name);
    let dir = match std::env::var_os("LMS_BENCH_DIR") {
        Some(base) => tempfile::tempdir_in(base),
        None => tempfile::tempdir(),
    }
    .expect("temporary folder");
    println!("{}", machine());
    if wants("latency") {
        latency(dir.path());
    }
    if wants("memory") {
        memory(dir.path());
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Scenarios

fn latency(dir: &Path) {
    let path = dir.join("course-10mb.zip");
    let started = Instant::now();
    let layout = Layout::realistic();
    write_package(&path, &layout);
    let size = std::fs::metadata(&path).expect("metadata").len();
    println!(
        "\n### latency: {} ({:.1} MB, {} entries, generated in {:.1} s)\n",
        path.file_name().and_then(|n| n.to_str()).unwrap_or_default(),
        size as f64 / 1e6,
        layout.entries(),
        started.elapsed().as_secs_f64()
    );
    let options = Options::default();
    let report = validate_path(&path, &options).expect("validate");
    assert_eq!(report.verdict, Verdict::Pass, "the generated course must pass: {:#?}", report.findings);
    for _ in 0..10 {
        validate_path(&path, &options).expect("warm-up");
    }
    let mut runs = Vec::new();
    let budget = Instant::now();
    while runs.len() < 1000 && (runs.len() < 100 || budget.elapsed() < Duration::from_secs(10)) {
        let t = Instant::now();
        let report = validate_path(&path, &options).expect("validate");
        runs.push(t.elapsed());
        std::hint::black_box(report);
    }
    let ours = Stats::of(runs);
    println!("| what | runs | median | p95 | min | max |\n|---|---|---|---|---|---|");
    println!("| `validate_path` in-process | {} | {} |", ours.n, ours.cells());
    let process = measure_process(&self_validate(&path), 30);
    println!("| `validate` in a child process (incl. process start) | {} | {} |", process.wall.n, process.wall.cells());
    let mut refs = Vec::new();
    for (label, cmd) in references(&path) {
        let m = measure_process(&cmd, 30);
        println!("| `{label}` | {} | {} |", m.wall.n, m.wall.cells());
        refs.push((label, m));
    }
    println!("\nGoal: < 50 ms. In-process median {} (p95 {}).", ms(ours.median), ms(ours.p95));
    for (label, m) in &refs {
        println!(
            "Child-process validate / `{label}`: {:.2}x (medians {} vs {})",
            ratio(process.wall.median, m.wall.median),
            ms(process.wall.median),
            ms(m.wall.median)
        );
    }
}

fn memory(dir: &Path) {
    let cases =
        [("100mb-10k.zip", 10_000, 10_000usize), ("1gb-10k.zip", 10_000, 100_000), ("1gb-100k.zip", 100_000, 10_000)];
    println!("\n### memory: one fresh process per run, peak RSS = VmHWM (ours) or /usr/bin/time %M (references)\n");
    println!("| package | entries | size | what | runs | wall median | wall max | peak RSS |");
    println!("|---|---|---|---|---|---|---|---|");
    let mut summary = Vec::new();
    for (name, entries, file_size) in cases {
        let path = dir.join(name);
        let started = Instant::now();
        let layout = Layout::bulk(entries, file_size);
        write_package(&path, &layout);
        let size = std::fs::metadata(&path).expect("metadata").len();
        eprintln!("generated {name}: {} bytes in {:.1} s", size, started.elapsed().as_secs_f64());
        let ours = measure_process(&self_validate(&path), 5);
        let row = |what: &str, m: &Measured| {
            println!(
                "| {name} | {entries} | {:.0} MB | {what} | {} | {} | {} | {} |",
                size as f64 / 1e6,
                m.wall.n,
                ms(m.wall.median),
                ms(m.wall.max),
                m.peak_rss_kb.map(|kb| format!("{:.1} MB", kb as f64 / 1024.0)).unwrap_or_else(|| "n/a".into())
            )
        };
        row("`lms-scorm validate`", &ours);
        let mut refs = Vec::new();
        for (label, cmd) in references(&path) {
            let runs = if label.contains("-t") { 2 } else { 5 };
            let m = measure_process(&cmd, runs);
            row(&format!("`{label}`"), &m);
            refs.push((label, m));
        }
        summary.push((name, ours, refs));
        std::fs::remove_file(&path).expect("remove the generated package");
    }
    println!();
    for (name, ours, refs) in &summary {
        let mut line = format!("{name}: validate {}", ms(ours.wall.median));
        for (label, m) in refs {
            let _ = write!(line, "; /`{label}` {:.2}x", ratio(ours.wall.median, m.wall.median));
        }
        println!("{line}");
    }
    if let [small, bytes10x, entries10x] = &summary[..] {
        let rss = |m: &Measured| m.peak_rss_kb.unwrap_or(0) as f64 / 1024.0;
        println!(
            "Peak RSS: {:.1} MB (100 MB, 10k) -> {:.1} MB (1 GB, 10k): x{:.2} for 10x the bytes; -> {:.1} MB (1 GB, \
             100k): x{:.2} for 10x the entries, {:.0} bytes per extra entry",
            rss(&small.1),
            rss(&bytes10x.1),
            rss(&bytes10x.1) / rss(&small.1).max(0.001),
            rss(&entries10x.1),
            rss(&entries10x.1) / rss(&bytes10x.1).max(0.001),
            (rss(&entries10x.1) - rss(&bytes10x.1)) * 1024.0 * 1024.0 / 90_000.0
        );
    }
}

/// Run in a fresh process by `memory` and `latency`: validates once and prints the validation time and VmHWM.
fn child_validate(path: &Path) {
    let t = Instant::now();
    let report = validate_path(path, &Options::default()).expect("validate");
    let elapsed = t.elapsed();
    assert_eq!(report.verdict, Verdict::Pass, "{:#?}", report.findings);
    println!("validate_ns={} vmhwm_kb={}", elapsed.as_nanos(), vm_hwm_kb().unwrap_or(0));
}

/// `--phases PATH`: where the time and the memory of one validation go, step by step (elapsed time, then resident
/// and peak memory after each step; freed memory mostly stays resident, so VmRSS only grows).
fn phases(path: &Path) {
    let t0 = Instant::now();
    let step = |what: &str| {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let field = |name: &str| {
            status.lines().find(|l| l.starts_with(name)).and_then(|l| l.split_whitespace().nth(1)).unwrap_or("?")
        };
        println!(
            "{:>9.1} ms  rss {:>7} kB  hwm {:>7} kB  {what}",
            t0.elapsed().as_secs_f64() * 1e3,
            field("VmRSS:"),
            field("VmHWM:")
        );
    };
    step("start");
    let mut pkg = lms_scorm::Package::open(path, lms_scorm::Limits::default()).expect("open");
    step(&format!("Package::open ({} entries)", pkg.entries().len()));
    let bytes = pkg.read("imsmanifest.xml", 1 << 30).expect("read the manifest");
    step(&format!("manifest read ({} bytes)", bytes.len()));
    let manifest = lms_scorm::manifest::Manifest::parse(&bytes, "imsmanifest.xml", Default::default()).expect("parse");
    step("Manifest::parse (model, each <resource> built as it closes)");
    drop(bytes);
    step("manifest bytes dropped");
    let report = validate_path(path, &Options::default()).expect("validate");
    step(&format!("validate_path while the first index and model are alive ({} findings)", report.findings.len()));
    drop((report, manifest, pkg));
    step("dropped");
    let t = Instant::now();
    validate_path(path, &Options::default()).expect("validate");
    step(&format!("validate_path end to end, again ({:.1} ms)", t.elapsed().as_secs_f64() * 1e3));
}

// ---------------------------------------------------------------------------------------------------------------
// Generated packages

/// A course: lessons, each launched by its first file; every file listed in the manifest.
struct Layout {
    lessons: Vec<Vec<FileSpec>>,
    shared: Vec<FileSpec>,
}

struct FileSpec {
    name: String,
    size: usize,
    kind: Kind,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// HTML, JS, CSS, JSON: text, deflated.
    Text,
    /// Video, images, fonts: incompressible, stored (what authoring tools do for media).
    Media,
}

impl Layout {
    /// ~10 MB: 12 modules of 25 lessons, each an HTML page, a quiz, a ~28 KB video clip and a poster image, plus a
    /// shared runtime (API wrapper, CSS, fonts).
    fn realistic() -> Self {
        let lessons = (0..300)
            .map(|l| {
                vec![
                    FileSpec { name: format!("lessons/l{l:03}/index.html"), size: 2_000, kind: Kind::Text },
                    FileSpec { name: format!("lessons/l{l:03}/quiz.json"), size: 900, kind: Kind::Text },
                    FileSpec {
                        name: format!("lessons/l{l:03}/clip.mp4"),
                        size: 24_000 + (l * 37) % 8_000,
                        kind: Kind::Media,
                    },
                    FileSpec { name: format!("lessons/l{l:03}/poster.jpg"), size: 3_500, kind: Kind::Media },
                ]
            })
            .collect();
        let mut shared = vec![
            FileSpec { name: "shared/scorm-api.js".into(), size: 30_000, kind: Kind::Text },
            FileSpec { name: "shared/player.js".into(), size: 120_000, kind: Kind::Text },
            FileSpec { name: "shared/style.css".into(), size: 25_000, kind: Kind::Text },
        ];
        for f in 0..4 {
            shared.push(FileSpec { name: format!("shared/fonts/font{f}.woff2"), size: 60_000, kind: Kind::Media });
        }
        Self { lessons, shared }
    }

    /// `entries` entries in all (the manifest included) of `file_size` stored bytes, 100 files per lesson.
    fn bulk(entries: usize, file_size: usize) -> Self {
        let files = entries - 1;
        let lessons = (0..files.div_ceil(100))
            .map(|l| {
                (l * 100..files.min(l * 100 + 100))
                    .map(|i| {
                        let (name, kind) = if i % 100 == 0 {
                            (format!("content/l{l:04}/index.html"), Kind::Text)
                        } else {
                            (format!("content/l{l:04}/asset{i:06}.bin"), Kind::Media)
                        };
                        FileSpec { name, size: file_size, kind }
                    })
                    .collect()
            })
            .collect();
        Self { lessons, shared: Vec::new() }
    }

    fn entries(&self) -> usize {
        1 + self.shared.len() + self.lessons.iter().map(Vec::len).sum::<usize>()
    }

    /// A SCORM 2004 4th Edition manifest: modules of 25 lessons, one SCO per lesson listing its files, a shared
    /// asset resource every SCO depends on.
    fn manifest(&self) -> String {
        let mut m = String::from(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<manifest identifier="com.example.bench" version="1.0"
  xmlns="http://www.imsglobal.org/xsd/imscp_v1p1"
  xmlns:adlcp="http://www.adlnet.org/xsd/adlcp_v1p3"
  xmlns:adlseq="http://www.adlnet.org/xsd/adlseq_v1p3"
  xmlns:adlnav="http://www.adlnet.org/xsd/adlnav_v1p3"
  xmlns:imsss="http://www.imsglobal.org/xsd/imsss"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  xsi:schemaLocation="http://www.imsglobal.org/xsd/imscp_v1p1 imscp_v1p1.xsd http://www.adlnet.org/xsd/adlcp_v1p3 adlcp_v1p3.xsd">
  <metadata>
    <schema>ADL SCORM</schema>
    <schemaversion>2004 4th Edition</schemaversion>
  </metadata>
  <organizations default="org">
    <organization identifier="org">
      <title>Benchmark course</title>
"#,
        );
        for (module, chunk) in self.lessons.chunks(25).enumerate() {
            let _ = writeln!(m, r#"      <item identifier="module_{module}"><title>Module {module}</title>"#);
            for l in 0..chunk.len() {
                let id = module * 25 + l;
                let _ = writeln!(
                    m,
                    r#"        <item identifier="item_{id}" identifierref="res_{id}"><title>Lesson {id}: a title of ordinary length</title><adlcp:completionThreshold completedByMeasure="false" minProgressMeasure="0.8"/></item>"#
                );
            }
            m.push_str("      </item>\n");
        }
        m.push_str("    </organization>\n  </organizations>\n  <resources>\n");
        for (id, files) in self.lessons.iter().enumerate() {
            let _ = writeln!(
                m,
                r#"    <resource identifier="res_{id}" type="webcontent" adlcp:scormType="sco" href="{}">"#,
                files[0].name
            );
            for f in files {
                let _ = writeln!(m, r#"      <file href="{}"/>"#, f.name);
            }
            if !self.shared.is_empty() {
                m.push_str("      <dependency identifierref=\"shared\"/>\n");
            }
            m.push_str("    </resource>\n");
        }
        if !self.shared.is_empty() {
            m.push_str("    <resource identifier=\"shared\" type=\"webcontent\" adlcp:scormType=\"asset\">\n");
            for f in &self.shared {
                let _ = writeln!(m, r#"      <file href="{}"/>"#, f.name);
            }
            m.push_str("    </resource>\n");
        }
        m.push_str("  </resources>\n</manifest>\n");
        m
    }
}

/// Writes the package file by file through a buffered file: memory stays flat whatever the size.
fn write_package(path: &Path, layout: &Layout) {
    let file = File::create(path).expect("create package");
    let mut zip = zip::ZipWriter::new(BufWriter::with_capacity(1 << 20, file));
    let text = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    let stored = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
    zip.start_file("imsmanifest.xml", text).expect("start");
    zip.write_all(layout.manifest().as_bytes()).expect("write");
    let pool = noise(1 << 20);
    let mut html = String::new();
    for (i, f) in layout.lessons.iter().flatten().chain(&layout.shared).enumerate() {
        match f.kind {
            Kind::Text => {
                zip.start_file(f.name.as_str(), text).expect("start");
                html.clear();
                while html.len() < f.size {
                    let _ = writeln!(
                        html,
                        "<p class=\"body\">Paragraph {} of {}: the learner reads some ordinary text here.</p>",
                        html.len(),
                        f.name
                    );
                }
                zip.write_all(&html.as_bytes()[..f.size]).expect("write");
            }
            Kind::Media => {
                zip.start_file(f.name.as_str(), stored).expect("start");
                let mut left = f.size;
                let mut at = (i * 7919) % pool.len();
                while left > 0 {
                    let n = left.min(pool.len() - at);
                    zip.write_all(&pool[at..at + n]).expect("write");
                    left -= n;
                    at = 0;
                }
            }
        }
    }
    let mut out = zip.finish().expect("finish");
    out.flush().expect("flush");
}

/// Incompressible bytes (xorshift64*), like encoded media.
fn noise(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..len)
        .map(|_| {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------------------------
// Measuring

struct Stats {
    n: usize,
    median: Duration,
    p95: Duration,
    min: Duration,
    max: Duration,
}

impl Stats {
    fn of(mut runs: Vec<Duration>) -> Self {
        runs.sort();
        let n = runs.len();
        let at = |q: f64| runs[((q * n as f64).ceil() as usize).clamp(1, n) - 1];
        Self { n, median: at(0.5), p95: at(0.95), min: runs[0], max: runs[n - 1] }
    }

    fn cells(&self) -> String {
        format!("{} | {} | {} | {}", ms(self.median), ms(self.p95), ms(self.min), ms(self.max))
    }
}

struct Measured {
    wall: Stats,
    /// Largest over the runs, in KiB.
    peak_rss_kb: Option<u64>,
}

/// This binary, validating `path` in a fresh process.
fn self_validate(path: &Path) -> Vec<String> {
    let exe = std::env::current_exe().expect("current exe");
    vec![exe.display().to_string(), "--child-validate".into(), path.display().to_string()]
}

/// What else reads the same zip: `unzip -l` and `python3 -m zipfile -l` read the central directory like we do;
/// `unzip -tq` reads and checks every byte (a full-read reference, more work than validation does).
fn references(path: &Path) -> Vec<(String, Vec<String>)> {
    let p = path.display().to_string();
    let mut out = Vec::new();
    if which("unzip") {
        out.push(("unzip -l".to_string(), vec!["unzip".into(), "-l".into(), p.clone()]));
        out.push(("unzip -tq".to_string(), vec!["unzip".into(), "-tq".into(), p.clone()]));
    }
    if which("python3") {
        out.push((
            "python3 -m zipfile -l".to_string(),
            vec!["python3".into(), "-m".into(), "zipfile".into(), "-l".into(), p],
        ));
    }
    out
}

fn which(program: &str) -> bool {
    Command::new(program).arg("--help").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok()
}

/// Runs `argv` `runs` times (after one warm-up), output discarded. Peak RSS from the child's own VmHWM line when it
/// prints one, else from GNU time's `%M` when /usr/bin/time exists.
fn measure_process(argv: &[String], runs: usize) -> Measured {
    let gnu_time = Path::new("/usr/bin/time").exists();
    let mut walls = Vec::new();
    let mut peak: Option<u64> = None;
    for run in 0..=runs {
        let mut cmd = if gnu_time {
            let mut c = Command::new("/usr/bin/time");
            c.args(["-f", "LMSBENCH_RSS_KB=%M"]).args(argv);
            c
        } else {
            let mut c = Command::new(&argv[0]);
            c.args(&argv[1..]);
            c
        };
        let t = Instant::now();
        let out = cmd.stdin(Stdio::null()).output().expect("run reference");
        let wall = t.elapsed();
        assert!(out.status.success(), "{argv:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        if run == 0 {
            continue;
        }
        walls.push(wall);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let own = stdout.split_whitespace().find_map(|w| w.strip_prefix("vmhwm_kb=")).and_then(|v| v.parse().ok());
        let timed = stderr.lines().find_map(|l| l.strip_prefix("LMSBENCH_RSS_KB=")).and_then(|v| v.trim().parse().ok());
        if let Some(kb) = own.or(timed) {
            peak = Some(peak.map_or(kb, |p: u64| p.max(kb)));
        }
    }
    Measured { wall: Stats::of(walls), peak_rss_kb: peak }
}

fn vm_hwm_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown cpu".into());
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!("machine: {cpu}, {cores} cores, Linux {}, files in {}", kernel.trim(), temp_root().display())
}

fn temp_root() -> PathBuf {
    std::env::var_os("LMS_BENCH_DIR").map(PathBuf::from).unwrap_or_else(std::env::temp_dir)
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64().max(1e-9)
}
