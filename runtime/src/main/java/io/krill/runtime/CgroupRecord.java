package io.krill.runtime;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
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
 */
final class CgroupRecord {
  private static final System.Logger LOG = System.getLogger("krill.tasks");

  private final Path file;
  private final List<Path> roots;
  private final Set<Path> dirs = new LinkedHashSet<>();

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
      lines = Files.readAllLines(file);
    } catch (NoSuchFileException none) {
      return record;
    } catch (IOException e) {
      LOG.log(Level.WARNING, "cannot read the cgroups a previous daemon made, {0}: {1}", file, e);
      return record;
    }
    synchronized (record) {
      for (String line : lines) {
        if (!line.isBlank()) {
          Path p = Path.of(line.strip());
          if (record.ours(p)) {
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
    boolean changed = false;
    for (Path p : made) {
      if (ours(p)) {
        changed |= dirs.add(p);
      }
    }
    if (changed) {
      save();
    }
  }

  /** Drops the directories that are gone (after a cgroup was removed). */
  synchronized void forgetRemoved() {
    if (dirs.removeIf(p -> !Files.isDirectory(p))) {
      save();
    }
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
        return;
      }
      Files.write(tmp, dirs.stream().map(Path::toString).toList());
      Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      LOG.log(
          Level.WARNING,
          "cannot record the cgroups this daemon made in {0}: {1}; a daemon killed now leaves them"
              + " for rmdir by hand",
          file,
          e.getMessage());
    }
  }

  private static String summary(List<Path> paths) {
    return paths.size() <= 10
        ? paths.toString()
        : paths.subList(0, 10) + " and " + (paths.size() - 10) + " more";
  }
}
