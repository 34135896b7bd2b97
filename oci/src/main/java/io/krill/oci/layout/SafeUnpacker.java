package io.krill.oci.layout;

import io.krill.oci.image.VerifyingInputStream;
import java.io.BufferedInputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Set;
import java.util.zip.GZIPInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

/**
 * Unpacks a tar (gzip-compressed or not) from an untrusted source into a directory and nowhere
 * else. Every entry is checked before anything is written: no absolute names, no {@code ..}, no
 * writing through a symlink, no symlink or hard link that points outside, no device files or FIFOs,
 * no setuid bits, and bounded total size and entry count. A refusal is an {@link
 * UnsafeArchiveException} naming the entry.
 */
public final class SafeUnpacker {
  /** Upper bounds on what one archive may write. */
  public record Limits(long maxBytes, int maxEntries) {
    public Limits {
      if (maxBytes <= 0 || maxEntries <= 0) {
        throw new IllegalArgumentException("limits must be positive");
      }
    }

    public static Limits of(long maxBytes, int maxEntries) {
      return new Limits(maxBytes, maxEntries);
    }
  }

  /** An archive entry that would escape the target or is not allowed there. */
  public static class UnsafeArchiveException extends IOException {
    public UnsafeArchiveException(String message) {
      super(message);
    }
  }

  /**
   * The archive cannot be read as a tar (or gzip-compressed tar): a broken archive rather than a
   * hostile one.
   */
  public static final class MalformedArchiveException extends IOException {
    public MalformedArchiveException(String message, Throwable cause) {
      super(message, cause);
    }
  }

  /** The archive is well-formed but larger (bytes or entries) than the {@link Limits} allow. */
  public static final class LimitExceededException extends UnsafeArchiveException {
    public LimitExceededException(String message) {
      super(message);
    }
  }

  private static final String WHITEOUT = ".wh.";
  private static final String OPAQUE = ".wh..wh..opq";
  private final Limits limits;

  public SafeUnpacker(Limits limits) {
    this.limits = limits;
  }

  /** Unpacks {@code raw} into {@code target}; returns the bytes of file content written. */
  public long unpack(InputStream raw, Path target) throws IOException {
    return unpack(raw, target, 0);
  }

  /**
   * Unpacks one of several archives that share the limits (an image's layers into one tree): {@code
   * written} bytes already count against them. Returns {@code written} plus the bytes of file
   * content this one wrote.
   */
  public long unpack(InputStream raw, Path target, long written) throws IOException {
    Files.createDirectories(target);
    Path root = target.toRealPath();
    BufferedInputStream in = new BufferedInputStream(raw);
    in.mark(2);
    boolean gzip = in.read() == 0x1f && in.read() == 0x8b;
    in.reset();
    long total = written;
    int entries = 0;
    List<Path> symlinks = new ArrayList<>();
    String format = gzip ? "gzip-compressed tar" : "tar";
    InputStream plain;
    try {
      plain = gzip ? new GZIPInputStream(in, 65536) : in;
    } catch (IOException e) {
      throw malformed(format, e);
    }
    try (TarArchiveInputStream tar = new TarArchiveInputStream(new ReadErrors(plain, format))) {
      TarArchiveEntry e;
      while ((e = next(tar, format)) != null) {
        if (++entries > limits.maxEntries()) {
          throw new LimitExceededException(
              "archive has more than " + limits.maxEntries() + " entries");
        }
        Path dest = checkedPath(root, e.getName(), true);
        if (dest == null) {
          continue;
        }
        String base = dest.getFileName().toString();
        if (base.equals(OPAQUE)) {
          continue;
        }
        if (base.startsWith(WHITEOUT)) {
          String hidden = base.substring(WHITEOUT.length());
          if (hidden.isEmpty() || hidden.equals(".") || hidden.equals("..")) {
            // ".wh..." would delete the target's parent: everything unpacked beside this tree.
            throw new UnsafeArchiveException(
                "entry "
                    + e.getName()
                    + " is a whiteout of \""
                    + hidden
                    + "\"; a whiteout may only hide a file or directory by name");
          }
          deleteTree(dest.resolveSibling(hidden));
          continue;
        }
        if (e.isCharacterDevice() || e.isBlockDevice() || e.isFIFO()) {
          throw new UnsafeArchiveException(
              "entry " + e.getName() + " is a device file or FIFO; images may not carry" + " them");
        }
        Files.createDirectories(dest.getParent());
        if (e.isDirectory()) {
          if (!Files.isDirectory(dest, LinkOption.NOFOLLOW_LINKS)) {
            deleteTree(dest);
            Files.createDirectory(
                dest, PosixFilePermissions.asFileAttribute(perms(e.getMode(), true)));
          }
        } else if (e.isSymbolicLink()) {
          checkLinkTarget(root, dest, e);
          deleteTree(dest);
          Files.createSymbolicLink(dest, Path.of(e.getLinkName()));
          symlinks.add(dest);
        } else if (e.isLink()) {
          Path source;
          try {
            source = checkedPath(root, e.getLinkName(), false);
          } catch (UnsafeArchiveException outside) {
            throw new UnsafeArchiveException(
                "hard link "
                    + e.getName()
                    + " -> "
                    + e.getLinkName()
                    + " points outside the target directory ("
                    + outside.getMessage()
                    + ")");
          }
          if (source == null || !Files.isRegularFile(source, LinkOption.NOFOLLOW_LINKS)) {
            throw new UnsafeArchiveException(
                "hard link "
                    + e.getName()
                    + " points at "
                    + e.getLinkName()
                    + ", which is not a regular file unpacked before it");
          }
          if (source.equals(dest)) {
            continue; // a link to itself: the file is already there
          }
          if (source.startsWith(dest)) {
            throw new UnsafeArchiveException(
                "hard link "
                    + e.getName()
                    + " -> "
                    + e.getLinkName()
                    + " would replace the directory that holds its own target");
          }
          deleteTree(dest);
          Files.createLink(dest, source);
        } else if (e.isFile()) {
          if (e.getSize() > limits.maxBytes() - total) {
            throw new LimitExceededException(
                "entry "
                    + e.getName()
                    + " ("
                    + e.getSize()
                    + " bytes) exceeds the"
                    + " limit of "
                    + limits.maxBytes()
                    + " bytes"
                    + (total > 0 ? " (" + total + " already written)" : ""));
          }
          deleteTree(dest);
          try (OutputStream out = Files.newOutputStream(dest, StandardOpenOption.CREATE_NEW)) {
            total += tar.transferTo(out);
          }
          Files.setPosixFilePermissions(dest, perms(e.getMode(), false));
        } else {
          throw new UnsafeArchiveException(
              "entry " + e.getName() + " has an unsupported tar entry type");
        }
      }
    }
    // Each link was checked as text when it was made; through links made before or after it, a
    // relative one can still lead out ("s/.." where s -> ".."), so check them again as the kernel
    // would follow them.
    for (Path link : symlinks) {
      if (Files.isSymbolicLink(link) && escapes(root, link)) {
        throw new UnsafeArchiveException(
            "symlink "
                + root.relativize(link)
                + " -> "
                + Files.readSymbolicLink(link)
                + " escapes the target directory");
      }
    }
    return total;
  }

  private static TarArchiveEntry next(TarArchiveInputStream tar, String format) throws IOException {
    try {
      return tar.getNextEntry();
    } catch (MalformedArchiveException | VerifyingInputStream.BlobVerificationException e) {
      throw e;
    } catch (IOException | IllegalArgumentException e) {
      throw malformed(format, e);
    }
  }

  private static MalformedArchiveException malformed(String format, Exception e) {
    return new MalformedArchiveException(
        "not a valid " + format + " archive: " + e.getMessage(), e);
  }

  /**
   * Read errors of the archive's bytes are the archive's fault (a blob that fails verification
   * keeps its own exception); write errors, which are the disk's, pass through {@code unpack}
   * unchanged.
   */
  private static final class ReadErrors extends FilterInputStream {
    private final String format;

    ReadErrors(InputStream in, String format) {
      super(in);
      this.format = format;
    }

    @Override
    public int read() throws IOException {
      try {
        return super.read();
      } catch (MalformedArchiveException | VerifyingInputStream.BlobVerificationException e) {
        throw e;
      } catch (IOException e) {
        throw malformed(format, e);
      }
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      try {
        return super.read(b, off, len);
      } catch (MalformedArchiveException | VerifyingInputStream.BlobVerificationException e) {
        throw e;
      } catch (IOException e) {
        throw malformed(format, e);
      }
    }
  }

  /**
   * Where an entry goes, or null for the root itself. Refuses names that leave the root and any
   * existing symlink on the way, so no write can be redirected outside by an earlier entry, and,
   * when {@code writing}, any existing file on the way, under which nothing can be made or hidden.
   */
  static Path checkedPath(Path root, String name, boolean writing) throws UnsafeArchiveException {
    if (name.startsWith("/")) {
      throw new UnsafeArchiveException("entry " + name + " has an absolute path");
    }
    Path rel = Path.of("");
    for (String part : name.split("/")) {
      if (part.isEmpty() || part.equals(".")) {
        continue;
      }
      if (part.equals("..")) {
        throw new UnsafeArchiveException(
            "entry " + name + " contains \"..\"; it would escape the target directory");
      }
      rel = rel.resolve(part);
    }
    if (rel.toString().isEmpty()) {
      return null;
    }
    Path p = root;
    for (int i = 0; i < rel.getNameCount() - 1; i++) {
      p = p.resolve(rel.getName(i));
      BasicFileAttributes a;
      try {
        a = Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
      } catch (IOException absent) {
        break;
      }
      if (a.isSymbolicLink()) {
        throw new UnsafeArchiveException(
            "entry " + name + " would be written through the symlink " + root.relativize(p));
      }
      if (writing && !a.isDirectory()) {
        throw new UnsafeArchiveException(
            "entry "
                + name
                + " lies under "
                + root.relativize(p)
                + ", which an earlier entry made a file, not a directory");
      }
    }
    return root.resolve(rel);
  }

  /**
   * A symlink may point anywhere inside the tree (absolute targets count from the tree's root),
   * never out.
   */
  private static void checkLinkTarget(Path root, Path dest, TarArchiveEntry e)
      throws UnsafeArchiveException {
    String link = e.getLinkName();
    if (link.isEmpty()) {
      throw new UnsafeArchiveException(
          "symlink " + e.getName() + " has an empty target; a symlink must point at a path");
    }
    Path resolved =
        link.startsWith("/") ? root.resolve(link.substring(1)) : dest.getParent().resolve(link);
    if (!resolved.normalize().startsWith(root)) {
      throw new UnsafeArchiveException(
          "symlink " + e.getName() + " -> " + link + " escapes the target directory");
    }
  }

  /**
   * Whether following {@code link} on the host, as the kernel does, steps above {@code root}. An
   * absolute target ends the walk: it counts from the tree's root, as the container sees it.
   */
  private static boolean escapes(Path root, Path link) throws IOException {
    Deque<String> todo = new ArrayDeque<>();
    push(todo, Files.readSymbolicLink(link).toString());
    Path at = link.getParent();
    int hops = 0;
    while (!todo.isEmpty()) {
      String part = todo.pop();
      if (part.isEmpty() || part.equals(".")) {
        continue;
      }
      if (part.equals("..")) {
        if (at.equals(root)) {
          return true;
        }
        at = at.getParent();
        continue;
      }
      Path next = at.resolve(part);
      if (!Files.isSymbolicLink(next)) {
        at = next;
        continue;
      }
      String target = Files.readSymbolicLink(next).toString();
      if (target.startsWith("/") || ++hops > 40) {
        return false;
      }
      push(todo, target);
    }
    return false;
  }

  private static void push(Deque<String> todo, String path) {
    String[] parts = path.split("/");
    for (int i = parts.length - 1; i >= 0; i--) {
      todo.push(parts[i]);
    }
  }

  private static Set<PosixFilePermission> perms(int mode, boolean dir) {
    // setuid/setgid/sticky never survive, and the owner can always read (and enter) what was
    // unpacked.
    int m = (mode & 0777) | (dir ? 0700 : 0600);
    StringBuilder s = new StringBuilder();
    String rwx = "rwxrwxrwx";
    for (int i = 0; i < 9; i++) {
      s.append((m & (1 << (8 - i))) != 0 ? rwx.charAt(i) : '-');
    }
    return PosixFilePermissions.fromString(s.toString());
  }

  private static void deleteTree(Path p) throws IOException {
    if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
      try (var s = Files.list(p)) {
        for (Path c : s.toList()) {
          deleteTree(c);
        }
      }
    }
    try {
      Files.deleteIfExists(p);
    } catch (FileAlreadyExistsException e) {
      throw new IOException("cannot replace " + p, e);
    }
  }
}
