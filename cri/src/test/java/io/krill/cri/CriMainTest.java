package io.krill.cri;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class CriMainTest {
  @Test
  void size_bytesAndBinarySuffixes() {
    assertEquals(1_048_576, CriMain.size("1048576"));
    assertEquals(512L << 10, CriMain.size("512k"));
    assertEquals(32L << 20, CriMain.size("32M"));
    assertEquals(16L << 20, CriMain.size("16Mi"));
    assertEquals(4L << 30, CriMain.size("4G"));
    assertEquals(4L << 30, CriMain.size("4GiB"));
  }
}
