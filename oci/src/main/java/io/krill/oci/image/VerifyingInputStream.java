package io.krill.oci.image;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;

/**
 * Passes a blob through while hashing it, and fails at the end (or as soon as it runs long) unless
 * the bytes match the descriptor's size and digest. A consumer therefore never acts on bytes that
 * turn out to be wrong: the exception arrives before the final {@code -1}.
 */
public final class VerifyingInputStream extends FilterInputStream {
  private final Descriptor expected;
  private final MessageDigest hash;
  private long count;
  private boolean verified;

  public VerifyingInputStream(InputStream in, Descriptor expected) {
    super(in);
    this.expected = expected;
    this.hash = expected.digest().newMessageDigest();
  }

  @Override
  public int read() throws IOException {
    byte[] one = new byte[1];
    int n = read(one, 0, 1);
    return n < 0 ? -1 : one[0] & 0xff;
  }

  @Override
  public int read(byte[] b, int off, int len) throws IOException {
    int n = super.read(b, off, len);
    if (n < 0) {
      verify();
      return -1;
    }
    count += n;
    if (count > expected.size()) {
      throw new BlobVerificationException(
          "blob "
              + expected.digest()
              + " is longer than its descriptor's "
              + expected.size()
              + " bytes");
    }
    hash.update(b, off, n);
    return n;
  }

  @Override
  public long skip(long n) throws IOException {
    // Skipped bytes must still be hashed.
    byte[] buf = new byte[8192];
    long done = 0;
    while (done < n) {
      int r = read(buf, 0, (int) Math.min(buf.length, n - done));
      if (r < 0) {
        break;
      }
      done += r;
    }
    return done;
  }

  @Override
  public boolean markSupported() {
    return false;
  }

  private void verify() throws IOException {
    if (verified) {
      return;
    }
    if (count != expected.size()) {
      throw new BlobVerificationException(
          "blob "
              + expected.digest()
              + " is truncated: "
              + count
              + " of "
              + expected.size()
              + " bytes");
    }
    Digest actual = Digest.of(expected.digest().algorithm(), hash.digest());
    if (!actual.equals(expected.digest())) {
      throw new BlobVerificationException(
          "blob digest mismatch: expected " + expected.digest() + ", got " + actual);
    }
    verified = true;
  }

  /** A blob whose bytes do not match its descriptor. */
  public static final class BlobVerificationException extends IOException {
    public BlobVerificationException(String message) {
      super(message);
    }
  }
}
