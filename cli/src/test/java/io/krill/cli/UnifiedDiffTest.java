package io.krill.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class UnifiedDiffTest {
  @Test
  void of_appendedLines_oneHunkWithContext() {
    String diff = UnifiedDiff.of("a", "1\n2\n3\n4\n5\n", "b", "1\n2\n3\n4\n5\nsix\nseven\n");
    assertEquals("--- a\n+++ b\n@@ -3,3 +3,5 @@\n 3\n 4\n 5\n+six\n+seven\n", diff);
  }

  @Test
  void of_fromNothing_allAdded() {
    assertEquals("--- a\n+++ b\n@@ -0,0 +1,2 @@\n+x\n+y\n", UnifiedDiff.of("a", "", "b", "x\ny\n"));
  }

  @Test
  void of_sameText_empty() {
    assertEquals("", UnifiedDiff.of("a", "x\n", "b", "x\n"));
  }

  @Test
  void of_farApartChanges_twoHunks() {
    StringBuilder a = new StringBuilder();
    for (int i = 0; i < 20; i++) {
      a.append(i).append('\n');
    }
    String b = a.toString().replace("2\n", "two\n").replace("17\n", "seventeen\n");
    assertEquals(3, UnifiedDiff.of("a", a.toString(), "b", b).split("@@ -").length);
  }
}
