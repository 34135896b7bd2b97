package io.krill.oci.layout;

import io.krill.oci.image.Descriptor;
import io.krill.oci.image.Digest;
import io.krill.oci.image.Index;
import io.krill.oci.image.VerifyingInputStream;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.util.List;

/**
 * An OCI image layout directory: {@code oci-layout}, {@code index.json} and content-addressed
 * {@code blobs/}. Blobs go in through a temp file that is hashed while it is written and renamed
 * into place, so a blob file's name is always its digest and a half-written blob is never visible.
 */
public final class OciLayout {
  static final String LAYOUT_FILE = "oci-layout";
  static final String INDEX_FILE = "index.json";
  private static final String LAYOUT_JSON = "{\"imageLayoutVersion\":\"1.0.0\"}";

  private final Path dir;

  private OciLayout(Path dir) {
    this.dir = dir;
  }

  /** Creates (or reuses) a layout at {@code dir}; an existing index is kept until replaced. */
  public static OciLayout create(Path dir) throws IOException {
    Files.createDirectories(dir.resolve("blobs/sha256"));
    Files.writeString(dir.resolve(LAYOUT_FILE), LAYOUT_JSON, StandardCharsets.UTF_8);
    if (!Files.exists(dir.resolve(INDEX_FILE))) {
      Files.write(dir.resolve(INDEX_FILE), Index.of(List.of()).toBytes());
    }
    return new OciLayout(dir);
  }

  public static OciLayout open(Path dir) throws IOException {
    if (!Files.isRegularFile(dir.resolve(LAYOUT_FILE))
        || !Files.isRegularFile(dir.resolve(INDEX_FILE))) {
      throw new IOException(dir + " is not an OCI image layout (no oci-layout and index.json)");
    }
    return new OciLayout(dir);
  }

  public Path dir() {
    return dir;
  }

  public Index index() throws IOException {
    return Index.parse(Files.readAllBytes(dir.resolve(INDEX_FILE)));
  }

  public void writeIndex(Index index) throws IOException {
    Path tmp = Files.createTempFile(dir, ".index", ".tmp");
    Files.write(tmp, index.toBytes());
    Files.move(
        tmp,
        dir.resolve(INDEX_FILE),
        StandardCopyOption.REPLACE_EXISTING,
        StandardCopyOption.ATOMIC_MOVE);
  }

  public Path blobPath(Digest d) {
    return dir.resolve(d.layoutPath());
  }

  public boolean hasBlob(Descriptor d) throws IOException {
    Path p = blobPath(d.digest());
    return Files.isRegularFile(p) && Files.size(p) == d.size();
  }

  public Descriptor putBlob(String mediaType, byte[] bytes) throws IOException {
    return putBlob(mediaType, new ByteArrayInputStream(bytes));
  }

  /** Stores a blob of unknown digest (one krill builds), hashing it as it is written. */
  public Descriptor putBlob(String mediaType, InputStream in) throws IOException {
    MessageDigest sha = Digest.newSha256();
    Path tmp = Files.createTempFile(dir.resolve("blobs"), ".blob", ".tmp");
    long size;
    try {
      try (OutputStream out = new DigestOutputStream(Files.newOutputStream(tmp), sha)) {
        size = in.transferTo(out);
      }
      Digest digest = Digest.of("sha256", sha.digest());
      place(tmp, digest);
      return Descriptor.of(mediaType, digest, size);
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  /**
   * Stores a blob that must match {@code expected} (one that was pulled); a mismatch stores
   * nothing.
   */
  public void putBlob(Descriptor expected, InputStream in) throws IOException {
    Path tmp = Files.createTempFile(dir.resolve("blobs"), ".blob", ".tmp");
    try {
      try (InputStream v = new VerifyingInputStream(in, expected);
          OutputStream out = Files.newOutputStream(tmp)) {
        v.transferTo(out);
      }
      place(tmp, expected.digest());
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  private void place(Path tmp, Digest digest) throws IOException {
    Path target = blobPath(digest);
    Files.createDirectories(target.getParent());
    Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }

  /** The blob's bytes, verified against {@code d} as they are read. */
  public InputStream openBlob(Descriptor d) throws IOException {
    Path p = blobPath(d.digest());
    if (!Files.isRegularFile(p)) {
      throw new IOException(
          "blob " + d.digest() + " (" + d.mediaType() + ") is missing from the layout " + dir);
    }
    return new VerifyingInputStream(Files.newInputStream(p), d);
  }

  /** A small blob (manifest, config), verified, refusing anything above {@code max} bytes. */
  public byte[] readSmall(Descriptor d, int max) throws IOException {
    if (d.size() > max) {
      throw new IOException(
          "blob "
              + d.digest()
              + " ("
              + d.mediaType()
              + ") is "
              + d.size()
              + " bytes, more than the "
              + max
              + "-byte limit for a document");
    }
    try (InputStream in = openBlob(d)) {
      ByteArrayOutputStream out = new ByteArrayOutputStream((int) d.size());
      in.transferTo(out);
      return out.toByteArray();
    }
  }
}
