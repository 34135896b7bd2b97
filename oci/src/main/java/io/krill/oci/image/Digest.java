package io.krill.oci.image;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.regex.Pattern;

/**
 * A content digest, {@code algorithm:hex}. Only sha256 and sha512 are accepted: they are the two
 * the image spec registers, and a digest we cannot recompute is one we cannot verify.
 */
public record Digest(String algorithm, String hex) {
  private static final Pattern HEX = Pattern.compile("[0-9a-f]+");

  public Digest {
    int length =
        switch (algorithm == null ? "" : algorithm) {
          case "sha256" -> 64;
          case "sha512" -> 128;
          default ->
              throw new IllegalArgumentException(
                  "unsupported digest algorithm \""
                      + algorithm
                      + "\" (krill verifies sha256 and sha512 only)");
        };
    if (hex == null || hex.length() != length || !HEX.matcher(hex).matches()) {
      throw new IllegalArgumentException(
          "invalid "
              + algorithm
              + " digest \""
              + hex
              + "\": expected "
              + length
              + " lowercase hex characters");
    }
  }

  public static Digest parse(String text) {
    if (text == null) {
      throw new IllegalArgumentException("missing digest");
    }
    int colon = text.indexOf(':');
    if (colon <= 0) {
      throw new IllegalArgumentException("invalid digest \"" + text + "\": expected algorithm:hex");
    }
    return new Digest(text.substring(0, colon), text.substring(colon + 1));
  }

  public static Digest of(String algorithm, byte[] hash) {
    return new Digest(algorithm, HexFormat.of().formatHex(hash));
  }

  /** The sha256 digest of {@code bytes}; for small documents (manifests, configs) only. */
  public static Digest sha256(byte[] bytes) {
    return of("sha256", newSha256().digest(bytes));
  }

  public static MessageDigest newSha256() {
    return newMessageDigest("sha256");
  }

  public MessageDigest newMessageDigest() {
    return newMessageDigest(algorithm);
  }

  private static MessageDigest newMessageDigest(String algorithm) {
    try {
      return MessageDigest.getInstance(algorithm.equals("sha256") ? "SHA-256" : "SHA-512");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK has no " + algorithm, e);
    }
  }

  /** The file name of this blob in an OCI layout: {@code blobs/<algorithm>/<hex>}. */
  public String layoutPath() {
    return "blobs/" + algorithm + "/" + hex;
  }

  /** Twelve hex characters, for messages. */
  public String shortHex() {
    return hex.substring(0, 12);
  }

  @Override
  public String toString() {
    return algorithm + ":" + hex;
  }
}
