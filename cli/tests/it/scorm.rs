//! `lms-media scorm …` through the real binary: exit codes, formats, batches, inspect and unpack. Packages are
//! written by each test into its own temporary folder.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const GOOD: &str = r#"<?xml version="1.0"?>
<manifest identifier="m" version="1" xmlns="http://www.imsproject.org/xsd/imscp_rootv1p1p2" xmlns:adlcp="http://www.adlnet.org/xsd/adlcp_rootv1p2">
  <metadata><schema>ADL SCORM</schema><schemaversion>1.2</schemaversion></metadata>
  <organizations default="o"><organization identifier="o"><title>Course</title>
    <item identifier="i" identifierref="r" parameters="?lang=en"><title>Lesson</title></item>
  </organization></organizations>
  <resources><resource identifier="r" type="webcontent" adlcp:scormtype="sco" href="index.html"><file href="index.html"/></resource></resources>
</manifest>"#;

fn lms_media(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lms-media")).args(args).output().expect("run lms-media")
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn write_zip(path: &Path, files: &[(&str, &str)]) -> PathBuf {
    let mut w = zip::ZipWriter::new(std::fs::File::create(path).expect("create zip"));
    for (name, data) in files {
        w.start_file(*name, zip::write::SimpleFileOptions::default()).expect("start");
        w.write_all(data.as_bytes()).expect("write");
    }
    w.finish().expect("finish");
    path.to_path_buf()
}

fn good_zip(dir: &Path) -> String {
    write_zip(&dir.join("good.zip"), &[("imsmanifest.xml", GOOD), ("index.html", "<html/>")]).display().to_string()
}

fn bad_zip(dir: &Path) -> String {
    write_zip(&dir.join("bad.zip"), &[("imsmanifest.xml", GOOD)]).display().to_string()
}

fn warned_zip(dir: &Path) -> String {
    let files = [("imsmanifest.xml", GOOD), ("index.html", "<html/>"), ("stray.js", "")];
    write_zip(&dir.join("warned.zip"), &files).display().to_string()
}

#[test]
fn scorm_validate_exit_0_for_a_good_package() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = lms_media(&["scorm", "validate", &good_zip(dir.path())]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    assert!(stdout(&out).contains("PASS"), "{}", stdout(&out));
    assert!(stdout(&out).contains("launch: index.html?lang=en"), "{}", stdout(&out));
}

#[test]
fn scorm_validate_exit_1_with_rule_location_and_hint() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = lms_media(&["scorm", "validate", &bad_zip(dir.path())]);
    assert_eq!(code(&out), 1);
    let text = stdout(&out);
    assert!(text.contains("error[file-exists] imsmanifest.xml:"), "{text}");
    assert!(text.contains("hint:"), "{text}");
}

#[test]
fn scorm_validate_batch_goes_on_and_exits_2_when_one_is_unreadable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("missing.zip").display().to_string();
    let out = lms_media(&["scorm", "validate", &missing, &good_zip(dir.path()), "--format", "json"]);
    assert_eq!(code(&out), 2);
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json on stdout");
    assert_eq!(v["reports"].as_array().map(Vec::len), Some(1), "the readable package is still reported");
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.zip"));
}

#[test]
fn scorm_validate_folders_and_several_packages() {
    let dir = tempfile::tempdir().expect("tempdir");
    let folder = dir.path().join("course");
    std::fs::create_dir(&folder).expect("mkdir");
    std::fs::write(folder.join("imsmanifest.xml"), GOOD).expect("write");
    std::fs::write(folder.join("index.html"), "<html/>").expect("write");
    let out =
        lms_media(&["scorm", "validate", &folder.display().to_string(), &bad_zip(dir.path()), "--format", "json"]);
    assert_eq!(code(&out), 1);
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    assert_eq!(v["reports"][0]["verdict"], "pass");
    assert_eq!(v["reports"][1]["verdict"], "fail");
}

#[test]
fn scorm_validate_warnings_as_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pkg = warned_zip(dir.path());
    assert_eq!(code(&lms_media(&["scorm", "validate", &pkg])), 0);
    assert_eq!(code(&lms_media(&["scorm", "validate", &pkg, "--warnings-as-errors"])), 1);
}

#[test]
fn scorm_validate_junit_and_sarif() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pkg = bad_zip(dir.path());
    let junit = stdout(&lms_media(&["scorm", "validate", &pkg, "--format", "junit"]));
    assert!(junit.starts_with("<?xml") && junit.contains("<failure type=\"file-exists\""), "{junit}");
    let sarif: serde_json::Value =
        serde_json::from_str(&stdout(&lms_media(&["scorm", "validate", &pkg, "--format", "sarif"])))
            .expect("sarif json");
    assert_eq!(sarif["version"], "2.1.0");
    assert_eq!(sarif["runs"][0]["results"][0]["ruleId"], "file-exists");
}

#[test]
fn scorm_validate_compat_profile_adds_lms_notes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let no_sv = GOOD.replace("<schemaversion>1.2</schemaversion>", "");
    let pkg = write_zip(&dir.path().join("nosv.zip"), &[("imsmanifest.xml", &no_sv), ("index.html", "")])
        .display()
        .to_string();
    assert_eq!(code(&lms_media(&["scorm", "validate", &pkg])), 1);
    let out = lms_media(&["scorm", "validate", &pkg, "--profile", "compat"]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    assert!(stdout(&out).contains("Moodle will treat this as SCORM 1.2"), "{}", stdout(&out));
}

#[test]
fn scorm_inspect_prints_tree_and_json() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pkg = good_zip(dir.path());
    let out = lms_media(&["scorm", "inspect", &pkg]);
    assert_eq!(code(&out), 0);
    assert!(stdout(&out).contains("- Lesson (i) -> index.html?lang=en"), "{}", stdout(&out));
    let v: serde_json::Value =
        serde_json::from_str(&stdout(&lms_media(&["scorm", "inspect", &pkg, "--json"]))).expect("json");
    assert_eq!(v["launch"], "index.html?lang=en");
    assert_eq!(v["standard"], "scorm12");
}

#[test]
fn scorm_unpack_extracts_and_refuses_hostile_archives() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out_dir = dir.path().join("out");
    let out = lms_media(&["scorm", "unpack", &good_zip(dir.path()), "-o", &out_dir.display().to_string()]);
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out_dir.join("index.html").is_file());

    let evil = write_zip(&dir.path().join("evil.zip"), &[("imsmanifest.xml", GOOD), ("../escape.html", "x")]);
    let target = dir.path().join("out2");
    let out = lms_media(&["scorm", "unpack", &evil.display().to_string(), "-o", &target.display().to_string()]);
    assert_eq!(code(&out), 1);
    assert!(String::from_utf8_lossy(&out.stderr).contains("refused"));
    assert!(!dir.path().join("escape.html").exists());
}

#[test]
fn scorm_rules_lists_every_rule() {
    let out = lms_media(&["scorm", "rules"]);
    assert_eq!(code(&out), 0);
    assert!(stdout(&out).lines().count() >= 30);
    assert!(stdout(&out).contains("item-leaf-rules"));
}
