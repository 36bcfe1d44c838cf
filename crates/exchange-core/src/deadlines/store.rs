//! Reading and replacing the two deadline files on the exchange.

use std::collections::{BTreeMap, HashSet};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use chrono::NaiveDateTime;

use super::json::{decode_course, decode_student, encode_course, encode_student};
use super::{
    due_problem, extension_problem, CourseDeadlines, Due, Extension, Granted, StudentDeadlines,
    FILE_NAME,
};
use crate::error::{Error, Result};
use crate::ids::{validate, IdKind};
use crate::layout::{display, Course};
use crate::ops::feedback::student_feedback_dir;
use crate::safefs;
use crate::stage;

/// Largest deadline file read; a bigger one is ignored with a warning.
const MAX_FILE: u64 = 4 << 20;

/// What a write did.
#[derive(Debug, Clone, Default)]
pub struct Written {
    /// The file.
    pub path: PathBuf,
    /// Whether its content changed (an unchanged file is not rewritten).
    pub changed: bool,
    /// Problems with what was there before (it is replaced).
    pub warnings: Vec<String>,
}

/// The file at `path`, never through a link: None when absent (or not a regular file);
/// a read problem or an oversized file is a warning and None.
fn read_file(path: &Path, warnings: &mut Vec<String>) -> Option<Vec<u8>> {
    match safefs::read_small(path, MAX_FILE + 1) {
        Ok(Some(bytes)) if bytes.len() as u64 > MAX_FILE => {
            warnings.push(format!(
                "{}: ignored: larger than {MAX_FILE} bytes",
                path.display()
            ));
            None
        }
        Ok(found) => found,
        Err(e) => {
            warnings.push(format!("{}: ignored: cannot read ({e})", path.display()));
            None
        }
    }
}

fn course_file(course: &Course) -> PathBuf {
    course.outbound().join(FILE_NAME)
}

fn student_file(course: &Course, student: &str) -> PathBuf {
    course.feedback_public().join(student).join(FILE_NAME)
}

/// The course-wide due dates of `course` (empty when none are published). A garbled file
/// or entry is a warning naming the file. Fails only on an unsafe course id.
pub fn read_course(
    root: &Path,
    course: &str,
    warnings: &mut Vec<String>,
) -> Result<CourseDeadlines> {
    let course = Course::new(root, course)?;
    let path = course_file(&course);
    Ok(decode_at(&path, warnings, decode_course))
}

/// `student`'s extensions in `course` (empty when none). A garbled file or entry is a
/// warning naming the file. Fails only on an unsafe course or student id.
pub fn read_student(
    root: &Path,
    course: &str,
    student: &str,
    warnings: &mut Vec<String>,
) -> Result<StudentDeadlines> {
    let course = Course::new(root, course)?;
    validate(IdKind::Student, student)?;
    let path = student_file(&course, student);
    Ok(decode_at(&path, warnings, decode_student))
}

/// Each of `students`' due date for `assignment` in `course` (their extension applied),
/// for many students at once: the course-wide file is read once and the students' files in
/// parallel, so a collect of a whole class costs one round trip per student, at 16 at a
/// time, not a read of the course file each. Fails only on an unsafe id.
pub fn students_due(
    root: &Path,
    course: &str,
    assignment: &str,
    students: &[String],
    warnings: &mut Vec<String>,
) -> Result<Vec<(String, Due)>> {
    validate(IdKind::Assignment, assignment)?;
    for student in students {
        validate(IdKind::Student, student)?;
    }
    let course_deadlines = read_course(root, course, warnings)?;
    let course = Course::new(root, course)?;
    // `feedback_public/` listed once: a student without a directory there has no file to
    // look up, and the listing's attributes spare a lookup of each other student's name
    // (on a network volume, 2 round trips a student become 1). Unlistable: read them all.
    let listed = safefs::open_dir(&course.feedback_public(), true)
        .and_then(|fd| safefs::read_entries_large(fd.as_fd()))
        .ok()
        .map(|entries| entries.into_iter().map(|e| e.name).collect::<HashSet<_>>());
    let read = crate::ops::inbound::par_io(students, |student| {
        let mut mine = Vec::new();
        let path = student_file(&course, student);
        let absent = listed
            .as_ref()
            .is_some_and(|names| !names.contains(std::ffi::OsStr::new(student)));
        let theirs: StudentDeadlines = if absent {
            StudentDeadlines::default()
        } else {
            decode_at(&path, &mut mine, decode_student)
        };
        let due = Due::of(assignment, &course_deadlines, &theirs);
        ((student.clone(), due), mine)
    });
    Ok(read
        .into_iter()
        .map(|(due, mine)| {
            warnings.extend(mine);
            due
        })
        .collect())
}

fn decode_at<T: Default>(
    path: &Path,
    warnings: &mut Vec<String>,
    decode: fn(&[u8], &mut dyn FnMut(String)) -> T,
) -> T {
    let Some(bytes) = read_file(path, warnings) else {
        return T::default();
    };
    let shown = display(path);
    decode(&bytes, &mut |w| warnings.push(format!("{shown}: {w}")))
}

/// Set (`Some`) or clear (`None`) the course-wide due date of `assignment`, replacing
/// `outbound/.nbk8s-deadlines.json` by temp file + rename when that changes it.
pub fn publish_due(
    root: &Path,
    course: &str,
    assignment: &str,
    due: Option<NaiveDateTime>,
) -> Result<Written> {
    validate(IdKind::Assignment, assignment)?;
    if let Some(why) = due.and_then(due_problem) {
        return Err(Error::InvalidArgument(format!("{assignment}: {why}")));
    }
    update_course(root, course, |data| match due {
        Some(d) => data.due.insert(assignment.to_string(), d) != Some(d),
        None => data.due.remove(assignment).is_some(),
    })
}

/// Make the course-wide due dates exactly `due` (what `nbgrader-k8s deadlines publish`
/// reads from the gradebook).
pub fn publish_all_due(
    root: &Path,
    course: &str,
    due: &BTreeMap<String, NaiveDateTime>,
) -> Result<Written> {
    for (a, d) in due {
        validate(IdKind::Assignment, a)?;
        if let Some(why) = due_problem(*d) {
            return Err(Error::InvalidArgument(format!("{a}: {why}")));
        }
    }
    update_course(root, course, |data| {
        let changed = data.due != *due;
        data.due.clone_from(due);
        changed
    })
}

fn update_course(
    root: &Path,
    course: &str,
    change: impl FnOnce(&mut CourseDeadlines) -> bool,
) -> Result<Written> {
    let c = Course::new(root, course)?;
    let mut out = Written {
        path: course_file(&c),
        ..Written::default()
    };
    let mut data = decode_at(&out.path, &mut out.warnings, decode_course);
    // A file that did not read is rewritten even when the change is a no-op.
    let garbled = !out.warnings.is_empty();
    if !change(&mut data) && !garbled {
        return Ok(out);
    }
    crate::ops::ensure_course_tree(&c)?;
    let outbound = c.outbound();
    let dir = safefs::open_dir(&outbound, true).map_err(|e| Error::io("open", &outbound, e))?;
    stage::write_file_at(dir.as_fd(), FILE_NAME, &encode_course(course, &data))
        .map_err(|e| Error::io("write", &out.path, e))?;
    out.changed = true;
    Ok(out)
}

/// Grant, change (`Some`) or remove (`None`) `student`'s extension on `assignment`, replacing
/// `feedback_public/{student}/.nbk8s-deadlines.json`; `now` is the grant time recorded.
pub fn set_extension(
    root: &Path,
    course: &str,
    student: &str,
    assignment: &str,
    extension: Option<Extension>,
    now: NaiveDateTime,
) -> Result<Written> {
    set_extensions(
        root,
        course,
        student,
        &[(assignment.to_string(), extension)],
        now,
    )
}

/// [`set_extension`] for several assignments of one student, in one write. An extension
/// beyond the horizon ([`extension_problem`]) is refused before anything is written.
pub fn set_extensions(
    root: &Path,
    course: &str,
    student: &str,
    changes: &[(String, Option<Extension>)],
    now: NaiveDateTime,
) -> Result<Written> {
    let c = Course::new(root, course)?;
    validate(IdKind::Student, student)?;
    for (a, _) in changes {
        validate(IdKind::Assignment, a)?;
    }
    let mut out = Written {
        path: student_file(&c, student),
        ..Written::default()
    };
    if changes.iter().any(|(_, e)| e.is_some()) {
        // Its problems are the readers' to report; here only its due dates matter.
        let published = decode_at(&course_file(&c), &mut Vec::new(), decode_course);
        for (a, e) in changes {
            let problem = e.and_then(|e| extension_problem(published.due.get(a).copied(), e, now));
            if let Some(why) = problem {
                return Err(Error::InvalidArgument(format!("{student} {a}: {why}")));
            }
        }
    }
    let mut data = decode_at(&out.path, &mut out.warnings, decode_student);
    let mut changed = !out.warnings.is_empty();
    for (assignment, extension) in changes {
        let before = data.extensions.get(assignment).map(|g| g.extension);
        if before == *extension {
            continue;
        }
        changed = true;
        match extension {
            Some(e) => {
                data.extensions.insert(
                    assignment.clone(),
                    Granted {
                        extension: *e,
                        granted: now,
                    },
                );
            }
            None => {
                data.extensions.remove(assignment);
            }
        }
    }
    if !changed {
        return Ok(out);
    }
    crate::ops::ensure_course_tree(&c)?;
    let public = c.feedback_public();
    let fd = safefs::open_dir(&public, true).map_err(|e| Error::io("open", &public, e))?;
    let (_, dir) = student_feedback_dir(&public, fd.as_fd(), student)?;
    stage::write_file_at(
        dir.as_fd(),
        FILE_NAME,
        &encode_student(course, student, &data),
    )
    .map_err(|e| Error::io("write", &out.path, e))?;
    out.changed = true;
    Ok(out)
}
