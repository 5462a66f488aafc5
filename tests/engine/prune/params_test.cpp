// Scheme parameters: validation names the key and the allowed range or set.
#include <gtest/gtest.h>

#include "engine/prune/scheme.h"

namespace prunelab::engine::prune {
namespace {

std::vector<ParamSpec> specs() {
    ParamSpec rate{"rate", "Pruning rate", "fraction removed", ParamSpec::Type::Real, 0, 0.999,
                   0.5};
    ParamSpec k{"patterns", "Patterns", "pattern set size", ParamSpec::Type::Integer, 4,
                12,         8,          {4, 6, 8, 12}};
    ParamSpec norm{"norm", "Norm", "ranking norm", ParamSpec::Type::Choice};
    norm.choices = {"l1", "l2"};
    return {rate, k, norm};
}

TEST(ParamValues, AcceptsValuesInRange) {
    ParamValues v;
    v.set("rate", 0.75);
    v.set("patterns", int64_t{6});
    v.set("norm", std::string("l2"));
    EXPECT_TRUE(v.validate(specs()).ok());
    EXPECT_EQ(v.number("rate", 0), 0.75);
    EXPECT_EQ(v.number("missing", 3), 3);
    EXPECT_EQ(v.choice("norm", "l1"), "l2");
}

TEST(ParamValues, RejectsOutOfRangeNotAllowedAndUnknown) {
    ParamValues rate;
    rate.set("rate", 1.0);
    auto st = rate.validate(specs());
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.error().message.find("'rate' = 1 is outside [0, 0.999]"), std::string::npos)
        << st.error().message;

    ParamValues k;
    k.set("patterns", int64_t{5});
    st = k.validate(specs());
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.error().message.find("not one of 4, 6, 8, 12"), std::string::npos)
        << st.error().message;

    ParamValues norm;
    norm.set("norm", std::string("l3"));
    EXPECT_FALSE(norm.validate(specs()).ok());

    ParamValues unknown;
    unknown.set("speed", 1.0);
    st = unknown.validate(specs());
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.error().message.find("unknown parameter 'speed'"), std::string::npos);
}

TEST(Schemes, TheListHasUniqueIds) {
    auto schemes = allSchemes();
    ASSERT_EQ(schemes.size(), 5u);
    for (const Scheme* s : schemes) {
        EXPECT_EQ(findScheme(s->id()), s);
    }
    EXPECT_EQ(findScheme("no_such_scheme"), nullptr);
}

}  // namespace
}  // namespace prunelab::engine::prune
