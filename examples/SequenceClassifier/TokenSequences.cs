using Rnnx;
using Rnnx.Random;

namespace SequenceClassifier;

/// <summary>
/// A reproducible data set of integer-token sequences of different lengths, each made by one of three generators; the
/// task is to say which. Tokens are 1 .. vocabulary − 1 (0 is padding); sequences are right-padded to the longest.
/// <list type="bullet">
/// <item>0, counting: each token is the previous one + 1 (wrapping past the last token back to 1);</item>
/// <item>1, alternating: two random tokens a, b repeated a b a b ...;</item>
/// <item>2, random: independent uniform tokens.</item>
/// </list>
/// Every token is then replaced by a random one with probability <see cref="Noise"/>, so no single step decides.
/// </summary>
public sealed record TokenSequences(int Samples, int MinLength, int MaxLength, int Vocabulary, double Noise, int Seed)
{
    public const int Classes = 3;

    public static readonly string[] ClassNames = ["counting", "alternating", "random"];

    /// <summary>Ids (samples, MaxLength), right-padded with 0; labels (samples,) as class indices; the lengths.</summary>
    public (Tensor Ids, Tensor Labels, int[] Lengths) Generate()
    {
        if (Samples < 1 || MinLength < 1 || MaxLength < MinLength || Vocabulary < 3 || Noise is < 0 or >= 1)
            throw new ArgumentException($"TokenSequences: need samples ≥ 1, 1 ≤ minLength ≤ maxLength, vocabulary ≥ 3 and noise in [0, 1); got {this}.");
        var rng = new NumPyRandomState((uint)Seed);
        var ids = new float[Samples * MaxLength];
        var labels = new float[Samples];
        var lengths = new int[Samples];
        int tokens = Vocabulary - 1;
        int Token() => 1 + (int)(rng.NextDouble() * tokens);
        for (int s = 0; s < Samples; s++)
        {
            int label = s % Classes;
            int length = MinLength + (int)(rng.NextDouble() * (MaxLength - MinLength + 1));
            int a = Token(), b = Token();
            for (int t = 0; t < length; t++)
            {
                int token = label switch
                {
                    0 => 1 + (a - 1 + t) % tokens,
                    1 => t % 2 == 0 ? a : b,
                    _ => Token(),
                };
                if (rng.NextDouble() < Noise) token = Token();
                ids[s * MaxLength + t] = token;
            }
            labels[s] = label;
            lengths[s] = length;
        }
        return (Tensor.FromArray(ids, Samples, MaxLength), Tensor.FromArray(labels, Samples), lengths);
    }
}
