package io.krill.wagi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.krill.runtime.ErrorCode;
import io.krill.runtime.KrillException;
import java.util.Map;
import org.junit.jupiter.api.Test;

class WagiSettingsTest {
  @Test
  void annotationsOverTheDefaults() {
    WagiSettings s =
        WagiSettings.defaults()
            .forContainer(
                "c1",
                Map.of(
                    WagiSettings.TIMEOUT, "1500ms",
                    WagiSettings.CONCURRENCY, "4",
                    WagiSettings.MAX_BODY, "64Ki",
                    WagiSettings.READ_TIMEOUT, "2m"));
    assertEquals(1500, s.timeoutMillis());
    assertEquals(4, s.concurrency());
    assertEquals(64 * 1024, s.maxBodyBytes());
    assertEquals(120_000, s.requestReadMillis());
    assertEquals(WagiSettings.defaults(), WagiSettings.defaults().forContainer("c1", Map.of()));
  }

  @Test
  void aBadValueNamesTheContainerTheAnnotationAndTheForm() {
    for (Map.Entry<String, String> bad :
        Map.of(
                WagiSettings.TIMEOUT, "soon",
                WagiSettings.CONCURRENCY, "0",
                WagiSettings.MAX_BODY, "3Ti",
                WagiSettings.READ_TIMEOUT, "-1s")
            .entrySet()) {
      KrillException e =
          assertThrows(
              KrillException.class,
              () ->
                  WagiSettings.defaults().forContainer("c1", Map.of(bad.getKey(), bad.getValue())));
      assertEquals(ErrorCode.INVALID_ARGUMENT, e.code());
      assertTrue(
          e.getMessage()
              .startsWith(
                  "container c1: annotation "
                      + bad.getKey()
                      + " has \""
                      + bad.getValue()
                      + "\": write it as "),
          e.getMessage());
    }
  }
}
