package io.krill.runtime;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The cgroup directories a daemon made and has not seen go: its containers' and pods', and the
 * parents their creation made (containerd's namespace directory {@code /<namespace>} of a {@code
 * ctr} container, krill's {@code /krill/<namespace>}). Kept in a file of the daemon's run
 * directory, one path a line, so that what a daemon could not remove (it was killed, or its guests
 * were still running when it was stopped) is removed by the next daemon on that run directory. Only
 * directories named in the file and below a cgroup hierarchy's root are ever removed; the kernel
 * refuses to remove one that has threads or children, which then stays in the record.
 *
 * <p>A Create appends its directories and a Delete appends {@code -<path>} for each of its own that
 * went, so neither costs more with a thousand containers than with one; the file is written anew
 * once such lines outnumber the live ones. A last line without its newline (a write cut short) is
 * ignored.
 */
final class CgroupRecord {
  private static final System.Logger LOG = System.getLogger("krill.tasks");

  private final Path file;
  private final List<Path> roots;
  private final Set<Path> dirs = new LinkedHashSet<>();

  /** Lines in the file: the live paths and what was appended since it was last written anew. */
  private int fileLines;

  /** Appended lines beyond the live ones that make the next change write the file anew. */
  static final int SLACK = 64;

  private CgroupRecord(Path file, List<Path> roots) {
    this.file = file;
    this.roots = List.copyOf(roots);
  }

  /**
   * The record in {@code file}, after removing what the daemon before left there: call only while
   * no other daemon uses the file. {@code roots} are the cgroup hierarchies' mount points.
   */
  static CgroupRecord takeOver(Path file, List<Path> roots) {
    CgroupRecord record = new CgroupRecord(file, roots);
    List<String> lines;
    try {
      String text = Files.readString(file);
      lines = List.of(text.substring(0, text.lastIndexOf('\n') + 1).split("\n"));
    } catch (NoSuchFileException none) {
      return record;
    } catch (IOException e) {
      LOG.log(Level.WARNING, "cannot read the cgroups a previous daemon made, {0}: {1}", file, e);
      return record;
    }
    synchronized (record) {
      for (String line : lines) {
        if (!line.isBlank()) {
          boolean gone = line.startsWith("-");
          Path p = Path.of(line.substring(gone ? 1 : 0).strip());
          if (gone) {
            record.dirs.remove(p);
          } else if (record.ours(p)) {
            record.dirs.add(p);
          } else {
            LOG.log(Level.WARNING, "{0}: ignoring {1}, not a cgroup below {2}", file, p, roots);
          }
        }
      }
      List<Path> removed = new ArrayList<>();
      record.removeEmpty(removed);
      if (!removed.isEmpty()) {
        LOG.log(
            Level.INFO,
            "removed {0} cgroup directories a previous daemon left: {1}",
            removed.size(),
            summary(removed));
      }
    }
    return record;
  }

  /** Whether {@code p} is strictly below one of the hierarchies' roots, with no {@code ..}. */
  private boolean ours(Path p) {
    if (!p.isAbsolute() || !p.normalize().equals(p)) {
      return false;
    }
    for (Path root : roots) {
      if (p.startsWith(root) && !p.equals(root)) {
        return true;
      }
    }
    return false;
  }

  /** Records directories that making a cgroup created. */
  synchronized void add(Collection<Path> made) {
    List<String> added = new ArrayList<>();
    for (Path p : made) {
      if (ours(p) && dirs.add(p)) {
        added.add(p.toString());
      }
    }
    append(added);
  }

  /** Drops those of {@code candidates} that are gone (after their cgroup was removed). */
  synchronized void forgetRemoved(Collection<Path> candidates) {
    List<String> gone = new ArrayList<>();
    for (Path p : candidates) {
      if (dirs.contains(p) && !Files.isDirectory(p)) {
        dirs.remove(p);
        gone.add("-" + p);
      }
    }
    append(gone);
  }

  /** Drops every recorded directory that is gone. */
  synchronized void forgetRemoved() {
    if (dirs.removeIf(p -> !Files.isDirectory(p))) {
      save();
    }
  }

  /** Adds lines to the file, or writes it anew if they would outnumber the live ones. */
  private void append(List<String> lines) {
    if (lines.isEmpty()) {
      return;
    }
    if (fileLines + lines.size() > 2 * dirs.size() + SLACK || !Files.exists(file)) {
      save();
      return;
    }
    try {
      Files.write(file, lines, StandardOpenOption.APPEND);
      fileLines += lines.size();
    } catch (IOException e) {
      warnUnrecorded(e);
    }
  }

  /** Lines in the file (for tests). */
  synchronized int fileLines() {
    return fileLines;
  }

  /**
   * Removes the recorded directories that are empty, deepest first, and returns those left: in use
   * (threads or children in them).
   */
  synchronized List<Path> removeEmpty() {
    return removeEmpty(new ArrayList<>());
  }

  private List<Path> removeEmpty(List<Path> removed) {
    List<Path> order = new ArrayList<>(dirs);
    order.sort(Comparator.comparingInt(Path::getNameCount).reversed());
    List<Path> left = new ArrayList<>();
    for (Path p : order) {
      try {
        Files.delete(p);
        dirs.remove(p);
        removed.add(p);
      } catch (NoSuchFileException gone) {
        dirs.remove(p);
      } catch (DirectoryNotEmptyException e) {
        left.add(p);
        LOG.log(Level.DEBUG, "cgroup {0} stays: it has children", p);
      } catch (FileSystemException e) {
        left.add(p);
        LOG.log(Level.DEBUG, "cgroup {0} stays: {1}", p, e.getReason());
      } catch (IOException e) {
        left.add(p);
        LOG.log(Level.DEBUG, "cgroup {0} stays: {1}", p, e.getMessage());
      }
    }
    save();
    return left;
  }

  /**
   * Writes the record (a new file renamed over the old). A run directory that is gone (a pod's
   * daemon removes its own as it leaves) is not made again.
   */
  private void save() {
    if (!Files.isDirectory(file.getParent())) {
      return;
    }
    Path tmp = file.resolveSibling(file.getFileName() + ".new");
    try {
      if (dirs.isEmpty()) {
        Files.deleteIfExists(file);
        fileLines = 0;
        return;
      }
      Files.write(tmp, dirs.stream().map(Path::toString).toList());
      Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      fileLines = dirs.size();
    } catch (IOException e) {
      warnUnrecorded(e);
    }
  }

  private void warnUnrecorded(IOException e) {
    LOG.log(
        Level.WARNING,
        "cannot record the cgroups this daemon made in {0}: {1}; a daemon killed now leaves them"
            + " for rmdir by hand",
        file,
        e.getMessage());
  }

  private static String summary(List<Path> paths) {
    return paths.size() <= 10
        ? paths.toString()
        : paths.subList(0, 10) + " and " + (paths.size() - 10) + " more";
  }
}
