package io.krill.engine.wasmtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class CacheSealTest {
  private static final String A = "a".repeat(64);
  private static final String B = "0123456789abcdef".repeat(4);
  private static final CacheSeal SEAL = new CacheSeal(A, 4096, B, "modules/wasmtime-7.0.1/Yq9_-x");

  @Test
  void parse_ofFormat_isTheSameSeal() {
    assertEquals(SEAL, CacheSeal.parse(SEAL.format()));
  }

  @Test
  void parse_notASeal_refusedWithWhy() {
    assertTrue(
        assertThrows(IllegalArgumentException.class, () -> CacheSeal.parse("\0\0\0garbage"))
            .getMessage()
            .contains("not a krill module cache seal"));
  }

  @Test
  void parse_missingOrRepeatedField_refused() {
    String noSha = SEAL.format().replace("sha256 " + B + "\n", "");
    assertThrows(IllegalArgumentException.class, () -> CacheSeal.parse(noSha));
    String twice = SEAL.format() + "size 1\n";
    assertThrows(IllegalArgumentException.class, () -> CacheSeal.parse(twice));
  }

  @Test
  void parse_badValues_refused() {
    assertThrows(
        IllegalArgumentException.class,
        () -> CacheSeal.parse(SEAL.format().replace("size 4096", "size -1")));
    assertThrows(
        IllegalArgumentException.class,
        () -> CacheSeal.parse(SEAL.format().replace("size 4096", "size lots")));
    assertThrows(
        IllegalArgumentException.class,
        () -> CacheSeal.parse(SEAL.format().replace("key " + A, "key " + A.toUpperCase())));
  }

  @Test
  void wasmtimePath_outsideWasmtimesLayout_refused() {
    for (String p :
        new String[] {
          "modules/../../etc/passwd", "/modules/x/y", "modules/x/y/z", "modules/x/y.stats", "x"
        }) {
      assertThrows(IllegalArgumentException.class, () -> new CacheSeal(A, 1, B, p), p);
    }
  }
}
