// OpenCL headers at the API level the backend targets, and errors as Status.
#pragma once

#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>

#include <string>

#include "core/status.h"

namespace autoglm::opencl {

// "CL_OUT_OF_RESOURCES" for a status code, or its number.
std::string cl_error_name(cl_int err);

// Internal error naming the failed call, e.g. "OpenCL clEnqueueNDRangeKernel(matmul) failed:
// CL_OUT_OF_RESOURCES"; ResourceExhausted for the out-of-memory codes.
Status cl_error(cl_int err, const std::string& what);

}  // namespace autoglm::opencl

#define AUTOGLM_CL_CHECK(call, what)                                                              \
  do {                                                                                            \
    const cl_int autoglm_cl_err_ = (call);                                                        \
    if (autoglm_cl_err_ != CL_SUCCESS) return ::autoglm::opencl::cl_error(autoglm_cl_err_, what); \
  } while (0)
