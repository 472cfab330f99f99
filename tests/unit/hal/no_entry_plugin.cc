// A test-only shared library named like a plugin but without the entry point.
extern "C" __attribute__((visibility("default"))) int autoglm_not_a_plugin() {
  return 0;
}
