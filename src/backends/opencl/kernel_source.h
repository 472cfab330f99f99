// The backend's OpenCL C program (kernels/*.cl, embedded at build time).
#pragma once

namespace autoglm::opencl {

const char* kernel_source();

}  // namespace autoglm::opencl
