package io.krill.cli;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Comparator;
import java.util.stream.Stream;

/** Copies a krill release into place and links its commands onto PATH. */
final class InstallTree {
  private InstallTree() {}

  /**
   * Copies next to the destination, then swaps directories, so a daemon starting meanwhile finds
   * either the old tree or the new one. Running daemons keep their already-open files.
   */
  static void copy(Path from, Path to) throws IOException {
    if (!Files.isExecutable(from.resolve("bin").resolve(Node.SHIM))) {
      throw new Console.Refusal(from + " is not a krill release (no bin/" + Node.SHIM + ")");
    }
    Path tmp = to.resolveSibling(to.getFileName() + ".new");
    Path old = to.resolveSibling(to.getFileName() + ".old");
    delete(tmp);
    delete(old);
    Files.createDirectories(to.getParent());
    Files.walkFileTree(
        from,
        new SimpleFileVisitor<>() {
          @Override
          public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs)
              throws IOException {
            Files.copy(
                dir,
                tmp.resolve(from.relativize(dir).toString()),
                StandardCopyOption.COPY_ATTRIBUTES);
            return FileVisitResult.CONTINUE;
          }

          @Override
          public FileVisitResult visitFile(Path file, BasicFileAttributes attrs)
              throws IOException {
            Files.copy(
                file,
                tmp.resolve(from.relativize(file).toString()),
                StandardCopyOption.COPY_ATTRIBUTES,
                LinkOption.NOFOLLOW_LINKS);
            return FileVisitResult.CONTINUE;
          }
        });
    if (Files.exists(to, LinkOption.NOFOLLOW_LINKS)) {
      Files.move(to, old);
    }
    Files.move(tmp, to);
    delete(old);
  }

  /**
   * A relative symlink, so a link made under {@code --root /host} also resolves on the host itself.
   */
  static void link(Path link, Path target) throws IOException {
    Files.createDirectories(link.getParent());
    Path relative = link.getParent().relativize(target);
    if (Files.isSymbolicLink(link) && Files.readSymbolicLink(link).equals(relative)) {
      return;
    }
    Path tmp = link.resolveSibling("." + link.getFileName() + ".krill-tmp");
    Files.deleteIfExists(tmp);
    Files.createSymbolicLink(tmp, relative);
    Files.move(tmp, link, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
  }

  /** Removes {@code link} only if it is krill's: a symlink into a krill tree. */
  static boolean unlink(Path link) throws IOException {
    if (Files.isSymbolicLink(link) && Files.readSymbolicLink(link).toString().contains("krill")) {
      Files.delete(link);
      return true;
    }
    return false;
  }

  static void delete(Path tree) throws IOException {
    if (!Files.exists(tree, LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    try (Stream<Path> all = Files.walk(tree)) {
      for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }
}
