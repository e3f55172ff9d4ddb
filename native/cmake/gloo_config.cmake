# Writes ${GLOO_CONFIG_DIR}/gloo/config.h from ${GLOO_INCLUDE}/gloo/config.h.in, set as PyTorch's
# Linux wheels configure their Gloo: TCP transport, torch dtypes, CUDA when GLOO_USE_CUDA.
# Included by native/CMakeLists.txt; scripts/check-pip-torch.sh runs it on its own:
#   cmake -DGLOO_INCLUDE=... -DGLOO_CONFIG_DIR=... -DGLOO_USE_CUDA=ON -P native/cmake/gloo_config.cmake
set(GLOO_VERSION_MAJOR 0)
set(GLOO_VERSION_MINOR 5)
set(GLOO_VERSION_PATCH 0)
set(GLOO_HAVE_TRANSPORT_TCP ON)
set(GLOO_USE_TORCH_DTYPES ON)
configure_file("${GLOO_INCLUDE}/gloo/config.h.in" "${GLOO_CONFIG_DIR}/gloo/config.h" @ONLY)
