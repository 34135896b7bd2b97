package io.krill.shim;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What a pod's daemon ({@code krill-isolated}) leaves behind when it exits with its pod: nothing. A
 * shared daemon's run dir is reused by the next daemon of its namespace; a pod's is not (its key is
 * the sandbox id), so it goes with the daemon, unless something is still mounted under it (then
 * walking it could reach a host directory, and it stays, with a warning).
 */
final class PodRunDir {
  private static final System.Logger LOG = System.getLogger("krill.daemon");
  private static final Pattern OCTAL = Pattern.compile("\\\\([0-3][0-7]{2})");

  private PodRunDir() {}

  /** Removes {@code dir} and everything in it, never crossing a mount point. */
  static void remove(Path dir) {
    List<Path> mounts;
    try {
      mounts = mountPointsUnder(dir, Files.readAllLines(Path.of("/proc/self/mountinfo")));
    } catch (IOException e) {
      LOG.log(Level.WARNING, "cannot read /proc/self/mountinfo, keeping {0}: {1}", dir, e);
      return;
    }
    if (!mounts.isEmpty()) {
      LOG.log(
          Level.WARNING,
          "keeping the pod daemon''s run dir {0}: still mounted under it: {1}",
          dir,
          mounts);
      return;
    }
    try {
      Files.walkFileTree(
          dir,
          new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs)
                throws IOException {
              Files.deleteIfExists(file);
              return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
              if (e != null) {
                throw e;
              }
              Files.deleteIfExists(d);
              return FileVisitResult.CONTINUE;
            }
          });
    } catch (IOException e) {
      LOG.log(Level.WARNING, "cannot remove the pod daemon''s run dir {0}: {1}", dir, e);
    }
  }

  /** Mount points at or below {@code dir} in {@code /proc/self/mountinfo}'s lines. */
  static List<Path> mountPointsUnder(Path dir, List<String> mountinfo) {
    Path root = dir.toAbsolutePath().normalize();
    return mountinfo.stream()
        .map(l -> l.split(" "))
        .filter(f -> f.length > 4)
        .map(f -> Path.of(unescape(f[4])))
        .filter(p -> p.startsWith(root))
        .toList();
  }

  private static String unescape(String field) {
    Matcher m = OCTAL.matcher(field);
    StringBuilder b = new StringBuilder();
    while (m.find()) {
      m.appendReplacement(
          b, Matcher.quoteReplacement(String.valueOf((char) Integer.parseInt(m.group(1), 8))));
    }
    return m.appendTail(b).toString();
  }
}
