// wink-lemmatizer ships no type declarations; this covers the calls the scorer makes.
declare module "wink-lemmatizer" {
  const lemmatizer: {
    adjective(word: string): string;
    verb(word: string): string;
    noun(word: string): string;
  };
  export default lemmatizer;
}
