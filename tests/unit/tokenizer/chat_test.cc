// ChatML rendering, compared with what the Jinja templates produce (rendered by hand).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace autoglm::tokenizer {
namespace {

// tokenizer.chat_template of SmolLM2-135M-Instruct, verbatim.
const std::string kSmolLm2Template =
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ "
    "'<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging "
    "Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + "
    "message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ "
    "'<|im_start|>assistant\n' }}{% endif %}";

// A ChatML template without a default system message.
const std::string kPlainChatMl =
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + "
    "message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ "
    "'<|im_start|>assistant\\n' }}{% endif %}";

// Qwen2-style: escaped newlines inside the Jinja strings.
const std::string kQwen2Template =
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ "
    "'<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{% endif %}{{'<|im_start|>'"
    " + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if "
    "add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

TEST(ChatTemplate, SmolLm2InsertsItsDefaultSystemMessage) {
  auto r = apply_chat_template(kSmolLm2Template, {{"user", "Hi there"}}, true);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(*r,
            "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging "
            "Face<|im_end|>\n<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n");
}

TEST(ChatTemplate, SmolLm2KeepsAGivenSystemMessage) {
  const std::vector<ChatMessage> messages = {
      {"system", "Be terse."}, {"user", "2+2?"}, {"assistant", "4"}, {"user", "3+3?"}};
  auto r = apply_chat_template(kSmolLm2Template, messages, false);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r,
            "<|im_start|>system\nBe terse.<|im_end|>\n<|im_start|>user\n2+2?<|im_end|>\n"
            "<|im_start|>assistant\n4<|im_end|>\n<|im_start|>user\n3+3?<|im_end|>\n");
}

TEST(ChatTemplate, PlainChatMlHasNoDefaultSystemMessage) {
  auto r = apply_chat_template(kPlainChatMl, {{"user", "Hi"}}, true);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
}

TEST(ChatTemplate, EscapedNewlinesInTheDefaultSystemMessage) {
  auto r = apply_chat_template(kQwen2Template, {{"user", "Hi"}}, false);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r,
            "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
            "<|im_start|>user\nHi<|im_end|>\n");
}

TEST(ChatTemplate, EmptyConversation) {
  auto r = apply_chat_template(kSmolLm2Template, {}, true);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "<|im_start|>assistant\n");
}

TEST(ChatTemplate, OtherFamiliesAreUnsupportedAndNamed) {
  const std::string llama3 =
      "{% for message in messages %}{{ '<|start_header_id|>' + message['role'] + "
      "'<|end_header_id|>\\n\\n' + message['content'] + '<|eot_id|>' }}{% endfor %}";
  auto r = apply_chat_template(llama3, {{"user", "Hi"}}, true);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::Unsupported);
  EXPECT_NE(r.status().message().find("Llama 3"), std::string::npos) << r.status().message();

  auto odd = apply_chat_template("{{ messages }} custom", {{"user", "Hi"}}, true);
  ASSERT_FALSE(odd.ok());
  EXPECT_NE(odd.status().message().find("{{ messages }} custom"), std::string::npos);

  auto none = apply_chat_template("", {{"user", "Hi"}}, true);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), ErrorCode::Unsupported);
}

}  // namespace
}  // namespace autoglm::tokenizer
