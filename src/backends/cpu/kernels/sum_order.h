// How a quantized dot product adds its integer products, which decides its f32 rounding.
#pragma once

namespace autoglm::cpu {

enum class SumOrder {
  // llama.cpp's: 8 lanes per row, each lane's group of 4 products converted to f32 and scaled
  // per block, the lanes added at the row's end. Outputs equal llama.cpp's bit for bit.
  Lanes,
  // A block's 32 products added as integers (exact), then one f32 multiply-add per block: fewer
  // roundings and about half the f32 work; outputs differ from llama.cpp's in the last bits.
  Blocks,
};

}  // namespace autoglm::cpu
