package io.krill.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class SizesTest {
  @Test
  void parse_bytesAndBinarySuffixes() {
    assertEquals(1_048_576, Sizes.parse("1048576"));
    assertEquals(512L << 10, Sizes.parse("512k"));
    assertEquals(32L << 20, Sizes.parse("32M"));
    assertEquals(16L << 20, Sizes.parse("16Mi"));
    assertEquals(4L << 30, Sizes.parse("4G"));
    assertEquals(4L << 30, Sizes.parse("4GiB"));
    assertEquals(1L << 40, Sizes.parse("1T"));
    assertEquals(0, Sizes.parse("0"));
  }

  @Test
  void parse_notASize_saysWhatIsAccepted() {
    for (String bad : new String[] {"lots", "-1", "4X", "", "99999999999T"}) {
      IllegalArgumentException e =
          assertThrows(IllegalArgumentException.class, () -> Sizes.parse(bad), bad);
      assertTrue(
          e.getMessage().contains("'" + bad + "'") && e.getMessage().contains("512Mi or 4G"),
          e.getMessage());
    }
  }

  @Test
  void positive_zero_refused() {
    assertEquals(1024, Sizes.positive("1K"));
    assertTrue(
        assertThrows(IllegalArgumentException.class, () -> Sizes.positive("0"))
            .getMessage()
            .contains("positive"));
  }
}
