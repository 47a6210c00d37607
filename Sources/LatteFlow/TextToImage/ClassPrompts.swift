/// Natural phrases for the classes of a labelled image set: the prompts of the default model. Several
/// phrasings per class so the generator learns from the backbone's meaning, not one fixed string.
public enum ClassPrompts {
    /// Fashion-MNIST, in label order (T-shirt/top, Trouser, Pullover, Dress, Coat, Sandal, Shirt,
    /// Sneaker, Bag, Ankle boot). The first phrase of each class is the one sample sheets use.
    public static let fashionMNIST: [[String]] = [
        ["a t-shirt", "a photo of a t-shirt", "a short-sleeved top", "a plain tee"],
        ["a pair of trousers", "a photo of trousers", "long pants", "a pair of jeans"],
        ["a pullover", "a photo of a pullover", "a knitted sweater", "a warm jumper"],
        ["a dress", "a photo of a dress", "a woman's dress", "a summer dress"],
        ["a coat", "a photo of a coat", "a winter coat", "a long jacket"],
        ["a sandal", "a photo of a sandal", "an open summer shoe", "a strappy sandal"],
        ["a shirt", "a photo of a shirt", "a button-up shirt", "a long-sleeved shirt"],
        ["a sneaker", "a photo of a sneaker", "a running shoe", "a sports shoe"],
        ["a bag", "a photo of a bag", "a handbag", "a leather purse"],
        ["an ankle boot", "a photo of an ankle boot", "a short boot", "a leather boot"],
    ]
}
