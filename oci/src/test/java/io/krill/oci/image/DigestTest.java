package io.krill.oci.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class DigestTest {
  private static final String EMPTY =
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

  @Test
  void sha256_ofEmpty_isTheWellKnownValue() {
    assertEquals("sha256:" + EMPTY, Digest.sha256(new byte[0]).toString());
  }

  @Test
  void parse_roundTrips_andGivesLayoutPath() {
    Digest d = Digest.parse("sha256:" + EMPTY);
    assertEquals("blobs/sha256/" + EMPTY, d.layoutPath());
    assertEquals(d, Digest.parse(d.toString()));
  }

  @Test
  void parse_sha512_accepted() {
    assertEquals("sha512", Digest.parse("sha512:" + "a".repeat(128)).algorithm());
  }

  @Test
  void parse_badInputs_preciseErrors() {
    assertTrue(
        assertThrows(IllegalArgumentException.class, () -> Digest.parse("md5:abc"))
            .getMessage()
            .contains("unsupported digest algorithm \"md5\""));
    assertTrue(
        assertThrows(
                IllegalArgumentException.class, () -> Digest.parse("sha256:" + EMPTY.toUpperCase()))
            .getMessage()
            .contains("64 lowercase hex"));
    assertTrue(
        assertThrows(IllegalArgumentException.class, () -> Digest.parse("sha256:abc"))
            .getMessage()
            .contains("invalid sha256 digest"));
    assertThrows(IllegalArgumentException.class, () -> Digest.parse(EMPTY));
  }

  @Test
  void verifyingStream_wrongDigest_failsBeforeEof() throws Exception {
    byte[] data = "hello".getBytes(StandardCharsets.UTF_8);
    Descriptor wrong =
        Descriptor.of("application/wasm", Digest.sha256("other".getBytes()), data.length);
    var in = new VerifyingInputStream(new ByteArrayInputStream(data), wrong);
    var e = assertThrows(VerifyingInputStream.BlobVerificationException.class, in::readAllBytes);
    assertTrue(
        e.getMessage().startsWith("blob digest mismatch: expected " + wrong.digest()),
        e.getMessage());
  }

  @Test
  void verifyingStream_truncated_and_overlong_areNamed() {
    byte[] data = "hello".getBytes(StandardCharsets.UTF_8);
    Descriptor longer = Descriptor.of("application/wasm", Digest.sha256(data), 10);
    assertEquals(
        "blob " + longer.digest() + " is truncated: 5 of 10 bytes",
        assertThrows(
                VerifyingInputStream.BlobVerificationException.class,
                () ->
                    new VerifyingInputStream(new ByteArrayInputStream(data), longer).readAllBytes())
            .getMessage());
    Descriptor shorter = Descriptor.of("application/wasm", Digest.sha256(data), 3);
    assertTrue(
        assertThrows(
                VerifyingInputStream.BlobVerificationException.class,
                () ->
                    new VerifyingInputStream(new ByteArrayInputStream(data), shorter)
                        .readAllBytes())
            .getMessage()
            .contains("longer than its descriptor's 3 bytes"));
  }

  @Test
  void verifyingStream_rightBytes_pass() throws Exception {
    byte[] data = "hello".getBytes(StandardCharsets.UTF_8);
    Descriptor d = Descriptor.of("application/wasm", Digest.sha256(data), data.length);
    assertEquals(
        "hello",
        new String(
            new VerifyingInputStream(new ByteArrayInputStream(data), d).readAllBytes(),
            StandardCharsets.UTF_8));
  }
}
