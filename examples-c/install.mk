# ------------------------------------------------------------------ install
# Included by the Makefile.
#
#   make install PREFIX=<dir>  installs the C library as C libraries install:
#       <dir>/include/fusebox.h
#       <dir>/lib/libfusebox.a          only fusebox_* defined globally
#       <dir>/lib/libfusebox.so.<ver>   SONAME libfusebox.so.0.<minor> before
#                                       1.0 (each 0.x minor may break the ABI,
#                                       the convention cargo-c follows), with
#                                       the SONAME and libfusebox.so links
#       <dir>/lib/pkgconfig/fusebox.pc
#       <dir>/lib/cmake/fusebox/fuseboxConfig.cmake (+ ConfigVersion):
#                                       fusebox::fusebox (static), fusebox::shared
#   make install-check         installs into a temporary prefix, builds and runs
#                              the consumers (examples-c/consumers: CMake and
#                              pkg-config, static and shared) against the
#                              installed files only, checks the exported symbols,
#                              and links fusebox beside a second Rust std static
#                              library (examples-c/second-rust).

PREFIX    ?= /usr/local
DESTDIR   ?=
VERSION   := $(shell sed -n 's/^version = "\(.*\)"/\1/p' $(ROOT)/Cargo.toml | head -n 1)
V_MAJOR   := $(word 1,$(subst ., ,$(VERSION)))
V_MINOR   := $(word 2,$(subst ., ,$(VERSION)))
SONAME    := libfusebox.so.$(if $(filter 0,$(V_MAJOR)),0.$(V_MINOR),$(V_MAJOR))
SO_FILE   := libfusebox.so.$(VERSION)
DIST      := $(TARGET_DIR)/dist
SO        := $(DIST)/$(SO_FILE)
LIBS_PRIVATE := $(LDLIBS)
CMAKE_LIBS   := $(subst $() ,;,$(patsubst -l%,%,$(LDLIBS)))

# nm with the compiler's LTO plugin (see hide-symbols.sh), failing loudly.
NM_P := nm --plugin $(shell $(CC) -print-file-name=liblto_plugin.so)

.PHONY: install install-check

# The shared library, linked from the same single relocatable object as the
# archive: only fusebox_* is global in it, so only fusebox_* is exported.
$(SO): lib
	$(CC) -shared -Wl,-soname,$(SONAME) -Wl,--gc-sections -Wl,-z,noexecstack \
	    -Wl,--whole-archive $(LIB) -Wl,--no-whole-archive $(LDLIBS) -o $@

install: lib $(SO)
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig \
	    $(DESTDIR)$(PREFIX)/lib/cmake/fusebox
	install -m 644 $(ROOT)/include/fusebox.h $(DESTDIR)$(PREFIX)/include/
	install -m 644 $(LIB) $(DESTDIR)$(PREFIX)/lib/libfusebox.a
	install -m 755 $(SO) $(DESTDIR)$(PREFIX)/lib/$(SO_FILE)
	ln -sf $(SO_FILE) $(DESTDIR)$(PREFIX)/lib/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(PREFIX)/lib/libfusebox.so
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' \
	    -e 's|@LIBS_PRIVATE@|$(LIBS_PRIVATE)|' packaging/fusebox.pc.in \
	    > $(DESTDIR)$(PREFIX)/lib/pkgconfig/fusebox.pc
	sed -e 's|@CMAKE_LIBS@|$(CMAKE_LIBS)|' -e 's|@SO_FILE@|$(SO_FILE)|' \
	    -e 's|@SONAME@|$(SONAME)|' packaging/fuseboxConfig.cmake.in \
	    > $(DESTDIR)$(PREFIX)/lib/cmake/fusebox/fuseboxConfig.cmake
	sed -e 's|@VERSION@|$(VERSION)|' -e 's|@MAJOR@|$(V_MAJOR)|g' -e 's|@MINOR@|$(V_MINOR)|g' \
	    packaging/fuseboxConfigVersion.cmake.in \
	    > $(DESTDIR)$(PREFIX)/lib/cmake/fusebox/fuseboxConfigVersion.cmake

CHECK_PREFIX := $(BUILD)/install-check/prefix
CHECK_OUT    := $(BUILD)/install-check
SECOND_DIR   := $(ROOT)/target/second-rust
SECOND_LIB   := $(SECOND_DIR)/release/libsecond_rust.a

install-check: | $(BUILD)
	rm -rf $(CHECK_OUT) && mkdir -p $(CHECK_OUT)
	$(MAKE) --no-print-directory install PREFIX=$(CHECK_PREFIX)
	@echo "== exported symbols: only fusebox_* may be defined globally"
	$(NM_P) -D --defined-only $(CHECK_PREFIX)/lib/$(SO_FILE) > $(CHECK_OUT)/so.globals
	$(NM_P) -g --defined-only $(CHECK_PREFIX)/lib/libfusebox.a > $(CHECK_OUT)/a.globals
	@for f in so a; do \
	    bad=$$(awk 'NF == 3 && $$3 !~ /^fusebox_/' $(CHECK_OUT)/$$f.globals); \
	    if [ -n "$$bad" ]; then echo "libfusebox.$$f defines more than fusebox_* globally:"; echo "$$bad"; exit 1; fi; \
	    n=$$(awk 'NF == 3' $(CHECK_OUT)/$$f.globals | wc -l); \
	    if [ "$$n" -lt 30 ]; then echo "libfusebox.$$f: only $$n global symbols"; exit 1; fi; done
	@so=$$(readelf -d $(CHECK_PREFIX)/lib/$(SO_FILE) | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p'); \
	    if [ "$$so" != "$(SONAME)" ]; then echo "SONAME is '$$so', not $(SONAME)"; exit 1; fi; \
	    echo "libfusebox.so: SONAME $$so, $$(awk 'NF == 3' $(CHECK_OUT)/so.globals | wc -l) symbols, all fusebox_*"
	@echo "== CMake consumer (find_package), static and shared"
	cmake -S consumers/cmake -B $(CHECK_OUT)/cmake-static -DCMAKE_PREFIX_PATH=$(CHECK_PREFIX) >/dev/null
	cmake --build $(CHECK_OUT)/cmake-static >/dev/null
	$(CHECK_OUT)/cmake-static/consumer
	cmake -S consumers/cmake -B $(CHECK_OUT)/cmake-shared -DCMAKE_PREFIX_PATH=$(CHECK_PREFIX) \
	    -DFUSEBOX_LINK=shared >/dev/null
	cmake --build $(CHECK_OUT)/cmake-shared >/dev/null
	$(CHECK_OUT)/cmake-shared/consumer
	@if ldd $(CHECK_OUT)/cmake-shared/consumer | grep -q '$(SONAME) => $(CHECK_PREFIX)'; then \
	    echo "cmake-shared/consumer loads $(SONAME) from the prefix"; \
	    else echo "cmake-shared/consumer does not load the installed $(SONAME)"; exit 1; fi
	@echo "== pkg-config consumer, static and shared"
	PKG_CONFIG_PATH=$(CHECK_PREFIX)/lib/pkgconfig $(MAKE) --no-print-directory -C consumers/pkgconfig OUT=$(CHECK_OUT)
	$(CHECK_OUT)/consumer-static
	$(CHECK_OUT)/consumer-shared
	@echo "== fusebox beside a second Rust std static library with its own critical-section"
	cd second-rust && CARGO_TARGET_DIR=$(SECOND_DIR) $(CARGO) build --quiet --release
	$(CC) -std=c99 -Wall -Werror -DWITH_SECOND_RUST -I$(CHECK_PREFIX)/include consumers/consumer.c \
	    $(CHECK_PREFIX)/lib/libfusebox.a $(SECOND_LIB) $(LDLIBS) -o $(CHECK_OUT)/two-rust-libs
	$(CHECK_OUT)/two-rust-libs
