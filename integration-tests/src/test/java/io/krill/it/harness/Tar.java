package io.krill.it.harness;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/**
 * A minimal POSIX ustar writer: regular files, directories, links and special files (the last for
 * hostile-image tests), fixed owner and mtime for reproducible blobs.
 */
public final class Tar implements AutoCloseable {
  private static final int BLOCK = 512;

  /**
   * A fixed, non-zero mtime: some unpackers treat 0 specially, and digests must not change between
   * runs.
   */
  private static final long MTIME = 1_700_000_000L;

  private final OutputStream out;

  public Tar(OutputStream out) {
    this.out = out;
  }

  public void directory(String name, int mode) throws IOException {
    header(name.endsWith("/") ? name : name + "/", mode, 0, (byte) '5');
  }

  public void file(String name, int mode, byte[] content) throws IOException {
    header(name, mode, content.length, (byte) '0');
    out.write(content);
    int pad = (BLOCK - content.length % BLOCK) % BLOCK;
    out.write(new byte[pad]);
  }

  /** A regular file of {@code size} zero bytes, streamed: a gzip bomb's payload. */
  public void zeros(String name, long size) throws IOException {
    header(name, 0644, size, (byte) '0');
    byte[] buf = new byte[1 << 16];
    for (long left = size; left > 0; left -= buf.length) {
      out.write(buf, 0, (int) Math.min(buf.length, left));
    }
    out.write(new byte[(int) ((BLOCK - size % BLOCK) % BLOCK)]);
  }

  public void symlink(String name, String target) throws IOException {
    header(name, 0777, 0, (byte) '2', target);
  }

  public void hardLink(String name, String target) throws IOException {
    header(name, 0644, 0, (byte) '1', target);
  }

  /**
   * Type '3' (character device), '4' (block device) or '6' (FIFO); devices get 1:3 (/dev/null's
   * numbers).
   */
  public void special(String name, char type) throws IOException {
    header(name, 0666, 0, (byte) type);
  }

  private void header(String name, int mode, long size, byte type) throws IOException {
    header(name, mode, size, type, null);
  }

  private void header(String name, int mode, long size, byte type, String link) throws IOException {
    byte[] h = new byte[BLOCK];
    byte[] n = name.getBytes(StandardCharsets.UTF_8);
    if (n.length <= 100) {
      System.arraycopy(n, 0, h, 0, n.length);
    } else {
      // ustar splits long names at a '/' into prefix (155) and name (100)
      int cut = name.lastIndexOf('/', 155);
      byte[] prefix = name.substring(0, Math.max(cut, 0)).getBytes(StandardCharsets.UTF_8);
      byte[] rest = name.substring(cut + 1).getBytes(StandardCharsets.UTF_8);
      if (cut <= 0 || prefix.length > 155 || rest.length > 100) {
        throw new IllegalArgumentException("path too long for ustar: " + name);
      }
      System.arraycopy(rest, 0, h, 0, rest.length);
      System.arraycopy(prefix, 0, h, 345, prefix.length);
    }
    octal(h, 100, 8, mode);
    octal(h, 108, 8, 0);
    octal(h, 116, 8, 0);
    octal(h, 124, 12, size);
    octal(h, 136, 12, MTIME);
    h[156] = type;
    if (link != null) {
      byte[] l = link.getBytes(StandardCharsets.UTF_8);
      if (l.length > 100) {
        throw new IllegalArgumentException("link target too long for ustar: " + link);
      }
      System.arraycopy(l, 0, h, 157, l.length);
    }
    if (type == '3' || type == '4') {
      octal(h, 329, 8, 1);
      octal(h, 337, 8, 3);
    }
    ascii(h, 257, "ustar\0");
    ascii(h, 263, "00");
    ascii(h, 265, "root");
    ascii(h, 297, "root");
    // The checksum is computed with its own field read as eight spaces.
    for (int i = 148; i < 156; i++) {
      h[i] = ' ';
    }
    long sum = 0;
    for (byte b : h) {
      sum += b & 0xff;
    }
    String cs = String.format("%06o", sum);
    ascii(h, 148, cs);
    h[154] = 0;
    h[155] = ' ';
    out.write(h);
  }

  private static void octal(byte[] h, int off, int len, long value) {
    String s = String.format("%0" + (len - 1) + "o", value);
    if (s.length() > len - 1) {
      throw new IllegalArgumentException("value too large for tar field: " + value);
    }
    ascii(h, off, s);
    h[off + len - 1] = 0;
  }

  private static void ascii(byte[] h, int off, String s) {
    byte[] b = s.getBytes(StandardCharsets.US_ASCII);
    System.arraycopy(b, 0, h, off, b.length);
  }

  /** Writes the two zero blocks that end an archive; does not close the underlying stream. */
  @Override
  public void close() throws IOException {
    out.write(new byte[2 * BLOCK]);
    out.flush();
  }
}
