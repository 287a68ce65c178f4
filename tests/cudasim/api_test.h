/* api_test.h: the `api` test of main.cu: launch-configuration errors, the timer and device
 * helpers of aotc_cuda.h, and (on the simulator only) its stricter memory checks: copies in
 * the wrong direction, frees of host memory, NaN-filled fresh allocations. */

__global__ void api_store_kernel(int *x) { x[threadIdx.x] = (int)threadIdx.x; }

static int expect(const char *what, cudaError_t got, cudaError_t want) {
  if (got == want)
    return 0;
  fprintf(stderr, "api: %s returned %s, expected %s\n", what, cudaGetErrorName(got),
          cudaGetErrorName(want));
  return 1;
}

/* The codes CUDA 13.0 returned on an H200 (tests/gpu/run.sh); the simulator returns the same. */
static int api_launch_config(int *dev) {
  int fails = 0;
  fails += expect("a launch of 2048 threads per block",
                  AOTC_LAUNCH(api_store_kernel, dim3(1), dim3(2048), 0, 0, dev),
                  cudaErrorInvalidValue);
  fails += expect("cudaGetLastError after it", cudaGetLastError(), cudaSuccess);
  fails += expect("a launch with an empty grid",
                  AOTC_LAUNCH(api_store_kernel, dim3(0), dim3(32), 0, 0, dev),
                  cudaErrorInvalidValue);
  fails += expect("a good launch", AOTC_LAUNCH(api_store_kernel, dim3(1), dim3(32), 0, 0, dev),
                  cudaSuccess);
  return fails;
}

static int api_timer(int *dev) {
  aotc_cuda_timer t;
  cudaStream_t s = nullptr;
  float ms = -1.0f;
  int fails = expect("aotc_cuda_stream_create", (cudaError_t)aotc_cuda_stream_create(&s),
                     cudaSuccess);
  fails += expect("aotc_cuda_timer_create", (cudaError_t)aotc_cuda_timer_create(&t), cudaSuccess);
  fails += expect("aotc_cuda_timer_start", (cudaError_t)aotc_cuda_timer_start(&t, s), cudaSuccess);
  fails += expect("a launch on the stream",
                  AOTC_LAUNCH(api_store_kernel, dim3(1), dim3(64), 0, s, dev), cudaSuccess);
  fails += expect("aotc_cuda_timer_stop", (cudaError_t)aotc_cuda_timer_stop(&t, s, &ms),
                  cudaSuccess);
  if (!(ms >= 0.0f) && ++fails)
    fprintf(stderr, "api: timer measured %g ms\n", (double)ms);
  aotc_cuda_timer_destroy(&t);
  fails += expect("aotc_cuda_stream_destroy", (cudaError_t)aotc_cuda_stream_destroy(s),
                  cudaSuccess);
  return fails;
}

static int api_device_info(void) {
  aotc_cuda_device_info info;
  int fails = expect("aotc_cuda_device_info_get",
                     (cudaError_t)aotc_cuda_device_info_get(0, &info), cudaSuccess);
  if (!fails && (!info.name[0] || info.sm_major < 7 || info.runtime_version <= 0) && ++fails)
    fprintf(stderr, "api: device info: '%s' sm_%d%d\n", info.name, info.sm_major, info.sm_minor);
  return fails;
}

#ifdef AOTC_CUDA_SIM
static int api_sim_memory(void) {
  float host[4];
  void *dev = nullptr;
  int fails = expect("cudaMalloc", cudaMalloc(&dev, sizeof host), cudaSuccess);
  fails += expect("cudaMemcpy HostToDevice into host memory",
                  cudaMemcpy(host, dev, sizeof host, cudaMemcpyHostToDevice), cudaErrorInvalidValue);
  fails += expect("cudaMemcpy DeviceToHost past the allocation",
                  cudaMemcpy(host, (char *)dev + 4, sizeof host, cudaMemcpyDeviceToHost),
                  cudaErrorInvalidValue);
  fails += expect("cudaFree of host memory", cudaFree(host), cudaErrorInvalidDevicePointer);
  fails += expect("cudaMemcpy DeviceToHost", cudaMemcpy(host, dev, sizeof host,
                                                        cudaMemcpyDeviceToHost), cudaSuccess);
  if (!isnan(host[0]) && ++fails)
    fprintf(stderr, "api: fresh device memory reads %g, not NaN\n", (double)host[0]);
  fails += expect("cudaFree", cudaFree(dev), cudaSuccess);
  (void)cudaGetLastError();
  return fails;
}
#else
static int api_sim_memory(void) { return 0; }
#endif

static int test_api(void) {
  int *dev = nullptr, fails = expect("cudaMalloc", cudaMalloc(&dev, 64 * sizeof(int)),
                                     cudaSuccess);
  fails += api_launch_config(dev);
  fails += api_timer(dev);
  fails += api_device_info();
  fails += api_sim_memory();
  fails += expect("cudaFree", cudaFree(dev), cudaSuccess);
  if (!fails)
    printf("api: ok\n");
  return fails != 0;
}
